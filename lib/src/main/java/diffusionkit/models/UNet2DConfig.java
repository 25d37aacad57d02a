package diffusionkit.models;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import diffusionkit.io.CheckpointException;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The configuration of a {@link UNet2DModel}: the {@code config.json} of a diffusers {@code UNet2DModel} folder.
 *
 * <p>Every key keeps its diffusers spelling ({@code block_out_channels}, {@code norm_num_groups}, ...) and
 * every value its JSON form; the accessors read them in camelCase ({@link #blockOutChannels()},
 * {@link #normNumGroups()}) with diffusers' defaults (v0.31) for absent keys. Keys this class does not know
 * are kept and written back by {@link #save(Path)}. A config is immutable: {@link #with(String, Object)}
 * returns a changed copy.
 *
 * <p>What the Java model supports is checked by {@link #validate()} (called when a model is built): each
 * unsupported setting fails with a message naming the key and the supported values.
 */
public final class UNet2DConfig {

    /** The {@code _class_name} diffusers writes for this model. */
    public static final String CLASS_NAME = "UNet2DModel";
    /** The diffusers version these semantics follow, written as {@code _diffusers_version} when absent. */
    public static final String DIFFUSERS_VERSION = "0.31.0";
    /** The file name of the config in a diffusers model folder. */
    public static final String CONFIG_NAME = "config.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    /** diffusers' {@code UNet2DModel.__init__} defaults (v0.31), in signature order. */
    private static final Map<String, JsonElement> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("sample_size", JsonNull.INSTANCE);
        DEFAULTS.put("in_channels", new JsonPrimitive(3));
        DEFAULTS.put("out_channels", new JsonPrimitive(3));
        DEFAULTS.put("center_input_sample", new JsonPrimitive(false));
        DEFAULTS.put("time_embedding_type", new JsonPrimitive("positional"));
        DEFAULTS.put("freq_shift", new JsonPrimitive(0));
        DEFAULTS.put("flip_sin_to_cos", new JsonPrimitive(true));
        DEFAULTS.put("down_block_types", strings("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"));
        DEFAULTS.put("up_block_types", strings("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
        DEFAULTS.put("block_out_channels", ints(224, 448, 672, 896));
        DEFAULTS.put("layers_per_block", new JsonPrimitive(2));
        DEFAULTS.put("mid_block_scale_factor", new JsonPrimitive(1));
        DEFAULTS.put("downsample_padding", new JsonPrimitive(1));
        DEFAULTS.put("downsample_type", new JsonPrimitive("conv"));
        DEFAULTS.put("upsample_type", new JsonPrimitive("conv"));
        DEFAULTS.put("dropout", new JsonPrimitive(0.0));
        DEFAULTS.put("act_fn", new JsonPrimitive("silu"));
        DEFAULTS.put("attention_head_dim", new JsonPrimitive(8));
        DEFAULTS.put("norm_num_groups", new JsonPrimitive(32));
        DEFAULTS.put("attn_norm_num_groups", JsonNull.INSTANCE);
        DEFAULTS.put("norm_eps", new JsonPrimitive(1e-5));
        DEFAULTS.put("resnet_time_scale_shift", new JsonPrimitive("default"));
        DEFAULTS.put("add_attention", new JsonPrimitive(true));
        DEFAULTS.put("class_embed_type", JsonNull.INSTANCE);
        DEFAULTS.put("num_class_embeds", JsonNull.INSTANCE);
        DEFAULTS.put("num_train_timesteps", JsonNull.INSTANCE);
    }

    /** Supported down block types. */
    public static final List<String> DOWN_BLOCK_TYPES = List.of("DownBlock2D", "AttnDownBlock2D");
    /** Supported up block types. */
    public static final List<String> UP_BLOCK_TYPES = List.of("UpBlock2D", "AttnUpBlock2D");
    /** Supported activation functions ({@code swish} is diffusers' alias of {@code silu}). */
    public static final List<String> ACT_FNS = List.of("silu", "swish");

    private final Map<String, JsonElement> values;

    private UNet2DConfig(Map<String, JsonElement> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** A config with every key at diffusers' default. */
    public static UNet2DConfig defaults() {
        return new UNet2DConfig(Map.of());
    }

    /** Parses the text of a {@code config.json}. */
    public static UNet2DConfig fromJson(String json) {
        JsonElement e = JsonParser.parseString(json);
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException("UNet2DModel config: expected a JSON object, got " + e);
        }
        return fromJson(e.getAsJsonObject());
    }

    /** Builds a config from a parsed {@code config.json} object (copied). */
    public static UNet2DConfig fromJson(JsonObject json) {
        Map<String, JsonElement> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> en : json.entrySet()) {
            m.put(en.getKey(), en.getValue().deepCopy());
        }
        return new UNet2DConfig(m);
    }

    /**
     * Reads {@code config.json} from a model folder (or a config file path).
     *
     * @throws CheckpointException when the file is missing or is not a JSON object
     */
    public static UNet2DConfig load(Path folderOrFile) throws IOException {
        Path file = Files.isDirectory(folderOrFile) ? folderOrFile.resolve(CONFIG_NAME) : folderOrFile;
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": no " + CONFIG_NAME + " found. A diffusers UNet2DModel folder holds "
                    + CONFIG_NAME + " and diffusion_pytorch_model.safetensors: point to that folder.");
        }
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonParseException | IllegalArgumentException e) {
            throw new CheckpointException(file + ": not a valid UNet2DModel config (" + e.getMessage()
                    + "). Fix the JSON or save the model again.", e);
        }
    }

    /** A copy of this config with {@code key} set to {@code value} (String, Number, Boolean, List, int[], null or JsonElement). */
    public UNet2DConfig with(String key, Object value) {
        Map<String, JsonElement> m = new LinkedHashMap<>(values);
        m.put(key, toJson(value));
        return new UNet2DConfig(m);
    }

    /** A copy of this config without {@code key} (its default then applies). */
    public UNet2DConfig without(String key) {
        Map<String, JsonElement> m = new LinkedHashMap<>(values);
        m.remove(key);
        return new UNet2DConfig(m);
    }

    /** The raw JSON value of {@code key}: the stored one, else diffusers' default, else null. */
    public JsonElement get(String key) {
        JsonElement e = values.get(key);
        if (e == null) {
            e = DEFAULTS.get(key);
        }
        return e == null ? null : e.deepCopy();
    }

    /** The keys present in the source file (or set by {@link #with}), in their order. */
    public List<String> storedKeys() {
        return new ArrayList<>(values.keySet());
    }

    /** The keys of {@code UNet2DModel.__init__} that diffusers writes to {@code config.json}. */
    public static List<String> knownKeys() {
        return new ArrayList<>(DEFAULTS.keySet());
    }

    /**
     * The full config as diffusers writes it: every {@code __init__} key (defaults filled in), the unknown keys
     * kept, {@code _class_name} and {@code _diffusers_version}, sorted by key.
     */
    public JsonObject toJsonObject() {
        TreeMap<String, JsonElement> all = new TreeMap<>();
        for (Map.Entry<String, JsonElement> en : DEFAULTS.entrySet()) {
            all.put(en.getKey(), en.getValue().deepCopy());
        }
        for (Map.Entry<String, JsonElement> en : values.entrySet()) {
            all.put(en.getKey(), en.getValue().deepCopy());
        }
        all.put("_class_name", new JsonPrimitive(CLASS_NAME));
        if (!values.containsKey("_diffusers_version")) {
            all.put("_diffusers_version", new JsonPrimitive(DIFFUSERS_VERSION));
        }
        JsonObject o = new JsonObject();
        all.forEach(o::add);
        return o;
    }

    /** {@link #toJsonObject()} as text: two-space indent, sorted keys, a final newline (as diffusers). */
    public String toJsonString() {
        return GSON.toJson(toJsonObject()) + "\n";
    }

    /** Writes {@code config.json} into {@code folder} atomically. */
    public void save(Path folder) throws IOException {
        AtomicFiles.writeString(folder.resolve(CONFIG_NAME), toJsonString());
    }

    // ---------------------------------------------------------------- accessors (diffusers names in camelCase)

    /** {@code sample_size}: the training resolution (an int, or [height, width]); null when unknown. */
    public int[] sampleSize() {
        JsonElement e = get("sample_size");
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonArray()) {
            return intArray("sample_size");
        }
        int s = e.getAsInt();
        return new int[] {s, s};
    }

    /** {@code in_channels}. */
    public int inChannels() {
        return intValue("in_channels");
    }

    /** {@code out_channels}. */
    public int outChannels() {
        return intValue("out_channels");
    }

    /** {@code center_input_sample}: feed {@code 2 * sample - 1} instead of the sample. */
    public boolean centerInputSample() {
        return boolValue("center_input_sample");
    }

    /** {@code time_embedding_type}. */
    public String timeEmbeddingType() {
        return stringValue("time_embedding_type");
    }

    /** {@code freq_shift}: the {@code downscale_freq_shift} of the sinusoidal embedding. */
    public double freqShift() {
        return doubleValue("freq_shift");
    }

    /** {@code flip_sin_to_cos}: cos first, then sin. */
    public boolean flipSinToCos() {
        return boolValue("flip_sin_to_cos");
    }

    /** {@code down_block_types}. */
    public List<String> downBlockTypes() {
        return stringList("down_block_types");
    }

    /** {@code up_block_types}. */
    public List<String> upBlockTypes() {
        return stringList("up_block_types");
    }

    /** {@code block_out_channels}. */
    public int[] blockOutChannels() {
        return intArray("block_out_channels");
    }

    /** {@code layers_per_block}. */
    public int layersPerBlock() {
        return intValue("layers_per_block");
    }

    /** {@code mid_block_scale_factor}. */
    public double midBlockScaleFactor() {
        return doubleValue("mid_block_scale_factor");
    }

    /** {@code downsample_padding}. */
    public int downsamplePadding() {
        return intValue("downsample_padding");
    }

    /** {@code downsample_type}. */
    public String downsampleType() {
        return stringValue("downsample_type");
    }

    /** {@code upsample_type}. */
    public String upsampleType() {
        return stringValue("upsample_type");
    }

    /** {@code dropout}. */
    public double dropout() {
        return doubleValue("dropout");
    }

    /** {@code act_fn}. */
    public String actFn() {
        return stringValue("act_fn");
    }

    /** {@code attention_head_dim}; null means one head per block (head size = channels). */
    public Integer attentionHeadDim() {
        return optInt("attention_head_dim");
    }

    /** {@code norm_num_groups}: the groups of every GroupNorm (null is rejected by {@link #validate()}). */
    public Integer normNumGroups() {
        return optInt("norm_num_groups");
    }

    /** {@code attn_norm_num_groups}: the groups of the mid block's attention norm; null = {@code norm_num_groups}. */
    public Integer attnNormNumGroups() {
        return optInt("attn_norm_num_groups");
    }

    /** {@code norm_eps}. */
    public double normEps() {
        return doubleValue("norm_eps");
    }

    /** {@code resnet_time_scale_shift}. */
    public String resnetTimeScaleShift() {
        return stringValue("resnet_time_scale_shift");
    }

    /** {@code add_attention}: attention in the mid block. */
    public boolean addAttention() {
        return boolValue("add_attention");
    }

    /** {@code class_embed_type}. */
    public String classEmbedType() {
        JsonElement e = get("class_embed_type");
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    /** {@code num_class_embeds}: the size of the class embedding table, or null for no class conditioning. */
    public Integer numClassEmbeds() {
        return optInt("num_class_embeds");
    }

    /** {@code num_train_timesteps} (only used by the "learned" time embedding, which is not supported). */
    public Integer numTrainTimesteps() {
        return optInt("num_train_timesteps");
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
        int[] boc;
        List<String> down;
        List<String> up;
        try {
            boc = blockOutChannels();
            down = downBlockTypes();
            up = upBlockTypes();
            inChannels();
            outChannels();
            layersPerBlock();
            normEps();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("UNet2DModel config: " + e.getMessage(), e);
        }
        for (int i = 0; i < down.size(); i++) {
            String t = strip(down.get(i));
            if (!DOWN_BLOCK_TYPES.contains(t)) {
                throw unsupported("down_block_types[" + i + "]", down.get(i), DOWN_BLOCK_TYPES.toString());
            }
        }
        for (int i = 0; i < up.size(); i++) {
            String t = strip(up.get(i));
            if (!UP_BLOCK_TYPES.contains(t)) {
                throw unsupported("up_block_types[" + i + "]", up.get(i), UP_BLOCK_TYPES.toString());
            }
        }
        if (down.size() != up.size()) {
            throw new IllegalArgumentException("UNet2DModel config: 'down_block_types' has " + down.size()
                    + " entries but 'up_block_types' has " + up.size() + ": give both the same number of blocks.");
        }
        if (boc.length != down.size()) {
            throw new IllegalArgumentException("UNet2DModel config: 'block_out_channels' has " + boc.length
                    + " entries but 'down_block_types' has " + down.size() + ": give one channel count per block.");
        }
        if (!"positional".equals(timeEmbeddingType())) {
            throw unsupported("time_embedding_type", timeEmbeddingType(), "[positional]");
        }
        if (!ACT_FNS.contains(actFn())) {
            throw unsupported("act_fn", actFn(), ACT_FNS.toString());
        }
        if (!"default".equals(resnetTimeScaleShift())) {
            throw unsupported("resnet_time_scale_shift", resnetTimeScaleShift(), "[default]");
        }
        if (!"conv".equals(downsampleType())) {
            throw unsupported("downsample_type", downsampleType(), "[conv]");
        }
        if (!"conv".equals(upsampleType())) {
            throw unsupported("upsample_type", upsampleType(), "[conv]");
        }
        if (classEmbedType() != null) {
            throw unsupported("class_embed_type", classEmbedType(),
                    "[null] (class conditioning through 'num_class_embeds')");
        }
        Integer nce = numClassEmbeds();
        if (nce != null && nce <= 0) {
            throw unsupported("num_class_embeds", String.valueOf(nce), "a positive count or null");
        }
        if (dropout() < 0 || dropout() >= 1) {
            throw unsupported("dropout", String.valueOf(dropout()), "a probability in [0, 1)");
        }
        if (downsamplePadding() < 0) {
            throw unsupported("downsample_padding", String.valueOf(downsamplePadding()), "0 or more");
        }
        if (layersPerBlock() < 1) {
            throw unsupported("layers_per_block", String.valueOf(layersPerBlock()), "1 or more");
        }
        if (normNumGroups() == null) {
            throw unsupported("norm_num_groups", "null", "a positive group count (diffusers' down blocks need one too)");
        }
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
        if (hd != null && hd <= 0) {
            throw unsupported("attention_head_dim", String.valueOf(hd), "a positive head size or null");
        }
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

    private static IllegalArgumentException unsupported(String key, String value, String supported) {
        return new IllegalArgumentException("UNet2DModel config: '" + key + "' = \"" + value
                + "\" is not supported by the Java UNet2DModel; supported: " + supported + ". Change '" + key
                + "' in config.json.");
    }

    // ---------------------------------------------------------------- JSON helpers

    private JsonElement required(String key) {
        JsonElement e = get(key);
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException("'" + key + "' must not be null");
        }
        return e;
    }

    private int intValue(String key) {
        JsonElement e = required(key);
        try {
            double d = e.getAsDouble();
            if (d != Math.rint(d)) {
                throw new IllegalArgumentException("'" + key + "' = " + e + " must be an integer");
            }
            return (int) d;
        } catch (UnsupportedOperationException | NumberFormatException | IllegalStateException ex) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be an integer", ex);
        }
    }

    private Integer optInt(String key) {
        JsonElement e = get(key);
        return e == null || e.isJsonNull() ? null : intValue(key);
    }

    private double doubleValue(String key) {
        JsonElement e = required(key);
        try {
            return e.getAsDouble();
        } catch (UnsupportedOperationException | NumberFormatException | IllegalStateException ex) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be a number", ex);
        }
    }

    private boolean boolValue(String key) {
        JsonElement e = required(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be true or false");
        }
        return e.getAsBoolean();
    }

    private String stringValue(String key) {
        JsonElement e = get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive()) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be a string");
        }
        return e.getAsString();
    }

    private List<String> stringList(String key) {
        JsonElement e = required(key);
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            out.add(x.getAsString());
        }
        return out;
    }

    private int[] intArray(String key) {
        JsonElement e = required(key);
        if (!e.isJsonArray()) {
            throw new IllegalArgumentException("'" + key + "' = " + e + " must be a list of integers");
        }
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static JsonArray strings(String... s) {
        JsonArray a = new JsonArray();
        for (String x : s) {
            a.add(x);
        }
        return a;
    }

    private static JsonArray ints(int... v) {
        JsonArray a = new JsonArray();
        for (int x : v) {
            a.add(x);
        }
        return a;
    }

    private static JsonElement toJson(Object value) {
        if (value == null) {
            return JsonNull.INSTANCE;
        }
        if (value instanceof JsonElement je) {
            return je.deepCopy();
        }
        if (value instanceof String s) {
            return new JsonPrimitive(s);
        }
        if (value instanceof Number n) {
            return new JsonPrimitive(n);
        }
        if (value instanceof Boolean b) {
            return new JsonPrimitive(b);
        }
        if (value instanceof int[] arr) {
            return ints(arr);
        }
        if (value instanceof Iterable<?> it) {
            JsonArray a = new JsonArray();
            for (Object o : it) {
                a.add(toJson(o));
            }
            return a;
        }
        if (value instanceof Object[] arr) {
            JsonArray a = new JsonArray();
            for (Object o : arr) {
                a.add(toJson(o));
            }
            return a;
        }
        throw new IllegalArgumentException("cannot store a " + value.getClass().getName() + " in a config: use a "
                + "String, Number, Boolean, List, int[] or JsonElement");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UNet2DConfig c && c.toJsonObject().equals(toJsonObject());
    }

    @Override
    public int hashCode() {
        return toJsonObject().hashCode();
    }

    @Override
    public String toString() {
        return toJsonString().strip().replace(String.format(Locale.ROOT, "%n"), " ");
    }
}
