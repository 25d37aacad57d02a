package diffusionkit.models;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The configuration of a {@link UNet2DModel}: the {@code config.json} of a diffusers {@code UNet2DModel} folder.
 *
 * <p>Every key of diffusers' {@code UNet2DModel.__init__} (v0.31) is declared once below, as a
 * {@link JsonConfig.Field} with its diffusers spelling ({@code block_out_channels}, {@code norm_num_groups}, ...)
 * and diffusers' default; the accessors read them in camelCase ({@link #blockOutChannels()},
 * {@link #normNumGroups()}). Keys this class does not know are kept and written back by {@link #save(Path)}.
 * A config is immutable: {@link #with(String, Object)} returns a changed copy.
 *
 * <p>What the Java model supports is checked by {@link #validate()} (called when a model is built): each
 * unsupported setting fails with a message naming the key and the supported values.
 */
public final class UNet2DConfig extends JsonConfig<UNet2DConfig> {

    /** The {@code _class_name} diffusers writes for this model. */
    public static final String CLASS_NAME = "UNet2DModel";
    /** The file name of the config in a diffusers model folder. */
    public static final String CONFIG_NAME = "config.json";

    /** {@code sample_size}: an int, or [height, width], read as [height, width]. */
    private static final Type<int[]> SIZE = new Type<>("an integer or [height, width]", e -> {
        Integer s = Type.INT.reader().apply(e);
        int[] hw = s != null ? new int[] {s, s} : Type.INTS.reader().apply(e);
        return hw != null && hw.length == 2 ? hw : null;
    }, hw -> hw[0] == hw[1] ? Type.INT.writer().apply(hw[0]) : Type.INTS.writer().apply(hw));

    /** {@code sample_size}: the training resolution; null when unknown. */
    public static final Field<int[]> SAMPLE_SIZE = field("sample_size", SIZE, null);
    /** {@code in_channels}. */
    public static final Field<Integer> IN_CHANNELS = field("in_channels", 3);
    /** {@code out_channels}. */
    public static final Field<Integer> OUT_CHANNELS = field("out_channels", 3);
    /** {@code center_input_sample}: feed {@code 2 * sample - 1} instead of the sample. */
    public static final Field<Boolean> CENTER_INPUT_SAMPLE = field("center_input_sample", false);
    /** {@code time_embedding_type} (only "positional" is supported). */
    public static final Field<String> TIME_EMBEDDING_TYPE = field("time_embedding_type", "positional");
    /** {@code freq_shift}: the {@code downscale_freq_shift} of the sinusoidal embedding. */
    public static final Field<Double> FREQ_SHIFT = numberField("freq_shift", 0);
    /** {@code flip_sin_to_cos}: cos first, then sin. */
    public static final Field<Boolean> FLIP_SIN_TO_COS = field("flip_sin_to_cos", true);
    /** {@code down_block_types}: one of {@link #SUPPORTED_DOWN_BLOCKS} per resolution. */
    public static final Field<List<String>> DOWN_BLOCK_TYPES = field("down_block_types", Type.STRINGS,
            List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"));
    /** {@code up_block_types}: one of {@link #SUPPORTED_UP_BLOCKS} per resolution. */
    public static final Field<List<String>> UP_BLOCK_TYPES = field("up_block_types", Type.STRINGS,
            List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
    /** {@code block_out_channels}: the channels of each resolution. */
    public static final Field<int[]> BLOCK_OUT_CHANNELS = field("block_out_channels", Type.INTS, new int[] {224, 448, 672, 896});
    /** {@code layers_per_block}. */
    public static final Field<Integer> LAYERS_PER_BLOCK = field("layers_per_block", 2);
    /** {@code mid_block_scale_factor}. */
    public static final Field<Double> MID_BLOCK_SCALE_FACTOR = numberField("mid_block_scale_factor", 1);
    /** {@code downsample_padding}. */
    public static final Field<Integer> DOWNSAMPLE_PADDING = field("downsample_padding", 1);
    /** {@code downsample_type} (only "conv" is supported). */
    public static final Field<String> DOWNSAMPLE_TYPE = field("downsample_type", "conv");
    /** {@code upsample_type} (only "conv" is supported). */
    public static final Field<String> UPSAMPLE_TYPE = field("upsample_type", "conv");
    /** {@code dropout}. */
    public static final Field<Double> DROPOUT = field("dropout", 0.0);
    /** {@code act_fn}: one of {@link #ACT_FNS}. */
    public static final Field<String> ACT_FN = field("act_fn", "silu");
    /** {@code attention_head_dim}; null means one head per block (head size = channels). */
    public static final Field<Integer> ATTENTION_HEAD_DIM = field("attention_head_dim", 8).orNull();
    /** {@code norm_num_groups}: the groups of every GroupNorm (null is rejected by {@link #validate()}). */
    public static final Field<Integer> NORM_NUM_GROUPS = field("norm_num_groups", 32).orNull();
    /** {@code attn_norm_num_groups}: the groups of the mid block's attention norm; null = norm_num_groups. */
    public static final Field<Integer> ATTN_NORM_NUM_GROUPS = field("attn_norm_num_groups", Type.INT, null);
    /** {@code norm_eps}. */
    public static final Field<Double> NORM_EPS = field("norm_eps", 1e-5);
    /** {@code resnet_time_scale_shift} (only "default" is supported). */
    public static final Field<String> RESNET_TIME_SCALE_SHIFT = field("resnet_time_scale_shift", "default");
    /** {@code add_attention}: attention in the mid block. */
    public static final Field<Boolean> ADD_ATTENTION = field("add_attention", true);
    /** {@code class_embed_type} (only null is supported). */
    public static final Field<String> CLASS_EMBED_TYPE = field("class_embed_type", (String) null);
    /** {@code num_class_embeds}: the size of the class embedding table, or null for no class conditioning. */
    public static final Field<Integer> NUM_CLASS_EMBEDS = field("num_class_embeds", Type.INT, null);
    /** {@code num_train_timesteps} (only used by the "learned" time embedding, which is not supported). */
    public static final Field<Integer> NUM_TRAIN_TIMESTEPS = field("num_train_timesteps", Type.INT, null);

    /** The keys of diffusers' {@code UNet2DModel.__init__}, in signature order. */
    private static final List<Field<?>> FIELDS = List.of(SAMPLE_SIZE, IN_CHANNELS, OUT_CHANNELS, CENTER_INPUT_SAMPLE,
            TIME_EMBEDDING_TYPE, FREQ_SHIFT, FLIP_SIN_TO_COS, DOWN_BLOCK_TYPES, UP_BLOCK_TYPES,
            BLOCK_OUT_CHANNELS, LAYERS_PER_BLOCK, MID_BLOCK_SCALE_FACTOR, DOWNSAMPLE_PADDING, DOWNSAMPLE_TYPE,
            UPSAMPLE_TYPE, DROPOUT, ACT_FN, ATTENTION_HEAD_DIM, NORM_NUM_GROUPS, ATTN_NORM_NUM_GROUPS, NORM_EPS,
            RESNET_TIME_SCALE_SHIFT, ADD_ATTENTION, CLASS_EMBED_TYPE, NUM_CLASS_EMBEDS, NUM_TRAIN_TIMESTEPS);

    /** Supported down block types. */
    public static final List<String> SUPPORTED_DOWN_BLOCKS = List.of("DownBlock2D", "AttnDownBlock2D");
    /** Supported up block types. */
    public static final List<String> SUPPORTED_UP_BLOCKS = List.of("UpBlock2D", "AttnUpBlock2D");
    /** Supported activation functions ({@code swish} is diffusers' alias of {@code silu}). */
    public static final List<String> ACT_FNS = List.of("silu", "swish");

    private static final Kind<UNet2DConfig> KIND = new Kind<>("UNet2DModel config", CONFIG_NAME, CLASS_NAME, FIELDS,
            UNet2DConfig::new);

    private UNet2DConfig(Map<String, JsonElement> values, String source) {
        super(KIND, values, source);
    }

    /** A config with every key at diffusers' default. */
    public static UNet2DConfig defaults() {
        return new UNet2DConfig(Map.of(), "code");
    }

    /**
     * Parses the text of a {@code config.json}.
     *
     * @throws IllegalArgumentException when it is not a JSON object or a key has the wrong type (naming the key)
     */
    public static UNet2DConfig fromJson(String json) {
        return fromJson(parseObject(json, "UNet2DModel config", "UNet2DModel config text", "pass a diffusers "
                + "UNet2DModel config.json"), "code");
    }

    /** Builds a config from a parsed {@code config.json} object (copied) that came from {@code source}. */
    public static UNet2DConfig fromJson(JsonObject json, String source) {
        return new UNet2DConfig(json.asMap(), source);
    }

    /**
     * Reads {@code config.json} from a model folder (or a config file path).
     *
     * @throws CheckpointException when the file is missing, is not a JSON object or a key has the wrong type
     */
    public static UNet2DConfig load(Path folderOrFile) throws IOException {
        return read(folderOrFile, CONFIG_NAME, "UNet2DModel config", "a diffusers UNet2DModel folder holds "
                + CONFIG_NAME + " and diffusion_pytorch_model.safetensors: point to that folder, or save the model again",
                UNet2DConfig::fromJson);
    }

    // ---------------------------------------------------------------- accessors (diffusers names in camelCase)

    /** {@code sample_size} as [height, width] (an int in the file means a square); null when unknown. */
    public int[] sampleSize() {
        return get(SAMPLE_SIZE);
    }

    /** {@code in_channels}. */
    public int inChannels() {
        return get(IN_CHANNELS);
    }

    /** {@code out_channels}. */
    public int outChannels() {
        return get(OUT_CHANNELS);
    }

    /** {@code center_input_sample}: feed {@code 2 * sample - 1} instead of the sample. */
    public boolean centerInputSample() {
        return get(CENTER_INPUT_SAMPLE);
    }

    /** {@code freq_shift}: the {@code downscale_freq_shift} of the sinusoidal embedding. */
    public double freqShift() {
        return get(FREQ_SHIFT);
    }

    /** {@code flip_sin_to_cos}: cos first, then sin. */
    public boolean flipSinToCos() {
        return get(FLIP_SIN_TO_COS);
    }

    /** {@code down_block_types}. */
    public List<String> downBlockTypes() {
        return get(DOWN_BLOCK_TYPES);
    }

    /** {@code up_block_types}. */
    public List<String> upBlockTypes() {
        return get(UP_BLOCK_TYPES);
    }

    /** {@code block_out_channels}. */
    public int[] blockOutChannels() {
        return get(BLOCK_OUT_CHANNELS);
    }

    /** {@code layers_per_block}. */
    public int layersPerBlock() {
        return get(LAYERS_PER_BLOCK);
    }

    /** {@code mid_block_scale_factor}. */
    public double midBlockScaleFactor() {
        return get(MID_BLOCK_SCALE_FACTOR);
    }

    /** {@code downsample_padding}. */
    public int downsamplePadding() {
        return get(DOWNSAMPLE_PADDING);
    }

    /** {@code dropout}. */
    public double dropout() {
        return get(DROPOUT);
    }

    /** {@code attention_head_dim}; null means one head per block (head size = channels). */
    public Integer attentionHeadDim() {
        return get(ATTENTION_HEAD_DIM);
    }

    /** {@code norm_num_groups}: the groups of every GroupNorm (null is rejected by {@link #validate()}). */
    public Integer normNumGroups() {
        return get(NORM_NUM_GROUPS);
    }

    /** {@code attn_norm_num_groups}: the groups of the mid block's attention norm; null = {@code norm_num_groups}. */
    public Integer attnNormNumGroups() {
        return get(ATTN_NORM_NUM_GROUPS);
    }

    /** {@code norm_eps}. */
    public double normEps() {
        return get(NORM_EPS);
    }

    /** {@code add_attention}: attention in the mid block. */
    public boolean addAttention() {
        return get(ADD_ATTENTION);
    }

    /** {@code num_class_embeds}: the size of the class embedding table, or null for no class conditioning. */
    public Integer numClassEmbeds() {
        return get(NUM_CLASS_EMBEDS);
    }

    /** {@code block_out_channels[0] * 4}: the width of the time embedding. */
    public int timeEmbedDim() {
        return blockOutChannels()[0] * 4;
    }

    /**
     * Checks that the Java {@link UNet2DModel} supports this config.
     *
     * @throws IllegalArgumentException naming the first unsupported key, its value and the supported values
     */
    public void validate() {
        int[] boc = blockOutChannels();
        List<String> down = downBlockTypes();
        List<String> up = upBlockTypes();
        for (int i = 0; i < down.size(); i++) {
            require(SUPPORTED_DOWN_BLOCKS.contains(strip(down.get(i))), "down_block_types[" + i + "]", down.get(i),
                    SUPPORTED_DOWN_BLOCKS.toString());
        }
        for (int i = 0; i < up.size(); i++) {
            require(SUPPORTED_UP_BLOCKS.contains(strip(up.get(i))), "up_block_types[" + i + "]", up.get(i),
                    SUPPORTED_UP_BLOCKS.toString());
        }
        if (down.size() != up.size()) {
            throw new IllegalArgumentException("UNet2DModel config: 'down_block_types' has " + down.size()
                    + " entries but 'up_block_types' has " + up.size() + ": give both the same number of blocks.");
        }
        if (boc.length != down.size()) {
            throw new IllegalArgumentException("UNet2DModel config: 'block_out_channels' has " + boc.length
                    + " entries but 'down_block_types' has " + down.size() + ": give one channel count per block.");
        }
        for (Field<String> f : List.of(TIME_EMBEDDING_TYPE, RESNET_TIME_SCALE_SHIFT, DOWNSAMPLE_TYPE, UPSAMPLE_TYPE)) {
            require(f.defaultValue().equals(get(f)), f, "[" + f.defaultValue() + "]"); // only diffusers' default
        }
        require(ACT_FNS.contains(get(ACT_FN)), ACT_FN, ACT_FNS.toString());
        require(get(CLASS_EMBED_TYPE) == null, CLASS_EMBED_TYPE, "[null] (class conditioning through 'num_class_embeds')");
        require(numClassEmbeds() == null || numClassEmbeds() > 0, NUM_CLASS_EMBEDS, "a positive count or null");
        require(dropout() >= 0 && dropout() < 1, DROPOUT, "a probability in [0, 1)");
        require(downsamplePadding() >= 0, DOWNSAMPLE_PADDING, "0 or more");
        require(layersPerBlock() >= 1, LAYERS_PER_BLOCK, "1 or more");
        require(normNumGroups() != null, NORM_NUM_GROUPS, "a positive group count (diffusers' down blocks need one too)");
        int groups = normNumGroups();
        for (int c : boc) {
            if (c <= 0 || c % groups != 0) {
                throw new IllegalArgumentException("UNet2DModel config: 'norm_num_groups' = " + groups
                        + " does not divide block_out_channels entry " + c + ": choose a divisor of every channel count.");
            }
        }
        Integer ag = attnNormNumGroups();
        if (ag != null && boc[boc.length - 1] % ag != 0) {
            throw new IllegalArgumentException("UNet2DModel config: 'attn_norm_num_groups' = " + ag
                    + " does not divide the mid block's " + boc[boc.length - 1] + " channels.");
        }
        Integer hd = attentionHeadDim();
        require(hd == null || hd > 0, ATTENTION_HEAD_DIM, "a positive head size or null");
        if (hd != null) {
            // heads = channels / head size, as diffusers: a block narrower than one head would have none
            List<String> attentionBlocks = new ArrayList<>();
            for (int i = 0; i < down.size(); i++) {
                if (strip(down.get(i)).startsWith("Attn") && boc[i] < hd) {
                    attentionBlocks.add("down_blocks." + i + " (" + boc[i] + " channels)");
                }
            }
            for (int i = 0; i < up.size(); i++) {
                int c = boc[boc.length - 1 - i];
                if (strip(up.get(i)).startsWith("Attn") && c < hd) {
                    attentionBlocks.add("up_blocks." + i + " (" + c + " channels)");
                }
            }
            if (addAttention() && boc[boc.length - 1] < hd) {
                attentionBlocks.add("mid_block (" + boc[boc.length - 1] + " channels)");
            }
            if (!attentionBlocks.isEmpty()) {
                throw new IllegalArgumentException("UNet2DModel config: 'attention_head_dim' = " + hd + " is wider than "
                        + String.join(", ", attentionBlocks) + ", which would get no attention head: use a head size "
                        + "no larger than the narrowest attention block, or null for one head per block.");
            }
        }
    }

    static String strip(String blockType) {
        return blockType.startsWith("UNetRes") ? blockType.substring(7) : blockType;
    }

    private void require(boolean supported, Field<?> key, String values) {
        require(supported, key.key(), String.valueOf(get(key)), values);
    }

    private static void require(boolean supported, String key, String value, String values) {
        if (!supported) {
            throw new IllegalArgumentException("UNet2DModel config: '" + key + "' = \"" + value
                    + "\" is not supported by the Java UNet2DModel; supported: " + values + ". Change '" + key
                    + "' in config.json.");
        }
    }
}
