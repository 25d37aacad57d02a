package diffusionkit.clip;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The configuration of a CLIP model, a Hugging Face {@code config.json} ({@code CLIPConfig} with its
 * {@code text_config} and {@code vision_config}). Each key is declared once below with transformers' spelling and
 * default (those of openai/clip-vit-base-patch32); accessors are the keys in camelCase. Keys this kit does not use
 * (transformers writes dozens) are kept and written back by {@link ClipModel#savePretrained}.
 */
public final class ClipConfig extends JsonConfig<ClipConfig> {

    /** The file name transformers uses. */
    public static final String CONFIG_NAME = "config.json";

    /** {@code model_type}: must be {@code clip}. */
    public static final Field<String> MODEL_TYPE = field("model_type", "clip");
    /** {@code projection_dim}: size of the shared embedding space. */
    public static final Field<Integer> PROJECTION_DIM = field("projection_dim", 512);
    /** {@code logit_scale_init_value}: initial log of the logit scale (ln(1/0.07)); the loaded weight is what counts. */
    public static final Field<Double> LOGIT_SCALE_INIT_VALUE = field("logit_scale_init_value", 2.6592);
    /** {@code text_config}: the {@link TextConfig} (null: the legacy {@code text_config_dict}, else defaults). */
    public static final Field<JsonObject> TEXT_CONFIG = field("text_config", Type.OBJECT, new JsonObject()).orNull();
    /** {@code vision_config}: the {@link VisionConfig} (null: the legacy {@code vision_config_dict}, else defaults). */
    public static final Field<JsonObject> VISION_CONFIG = field("vision_config", Type.OBJECT, new JsonObject()).orNull();

    private static final Kind KIND = new Kind("CLIP config.json", CONFIG_NAME, null,
            List.of(MODEL_TYPE, PROJECTION_DIM, LOGIT_SCALE_INIT_VALUE, TEXT_CONFIG, VISION_CONFIG));

    /** {@code hidden_act} of either tower: quick_gelu or gelu (any case). */
    private static final Type<String> ACTIVATION = new Type<>("quick_gelu or gelu", e -> {
        String s = Type.STRING.reader().apply(e);
        String a = s == null ? null : s.toLowerCase(Locale.ROOT);
        return "quick_gelu".equals(a) || "gelu".equals(a) ? a : null;
    }, JsonPrimitive::new);

    private final TextConfig text;
    private final VisionConfig vision;

    private ClipConfig(Map<String, JsonElement> values, String source) {
        super(KIND, values, source);
        if (!get(MODEL_TYPE).equals("clip")) {
            throw new IllegalArgumentException(source + " is not a CLIP config.json (model_type is '" + get(MODEL_TYPE)
                    + "', expected 'clip')");
        }
        text = new TextConfig(entries(sub(TEXT_CONFIG)), source + " text_config");
        vision = new VisionConfig(entries(sub(VISION_CONFIG)), source + " vision_config");
        if (vision.imageSize() % vision.patchSize() != 0) {
            throw new IllegalArgumentException(source + ": vision_config image_size " + vision.imageSize()
                    + " is not a multiple of patch_size " + vision.patchSize());
        }
    }

    /** {@code text_config}, else a non-null legacy {@code text_config_dict}, else defaults. */
    private JsonObject sub(Field<JsonObject> field) {
        JsonObject o = storedKeys().contains(field.key()) ? get(field) : null;
        JsonElement legacy = get(field.key() + "_dict");
        if (o == null && legacy != null && legacy.isJsonObject()) {
            o = legacy.getAsJsonObject();
        }
        return o == null ? new JsonObject() : o;
    }

    @Override
    protected ClipConfig create(Map<String, JsonElement> values, String source) {
        return new ClipConfig(values, source);
    }

    /** The configuration of openai/clip-vit-base-patch32 (its text_config has the legacy eos_token_id 2). */
    public static ClipConfig defaults() {
        JsonObject text = new JsonObject();
        text.addProperty(TextConfig.EOS_TOKEN_ID.key(), 2);
        return new ClipConfig(Map.of(MODEL_TYPE.key(), new JsonPrimitive("clip"), TEXT_CONFIG.key(), text), "code");
    }

    /**
     * Reads {@code config.json} of a CLIP folder (or the file itself); errors name the file, what is wrong (not
     * JSON, not a CLIP config, the bad key) and where to get the right file.
     */
    public static ClipConfig load(Path folderOrFile) throws IOException {
        Path file = folderOrFile.toAbsolutePath();
        Path folder = java.nio.file.Files.isDirectory(file) ? file : file.getParent();
        String download = "download config.json of " + ClipModel.HUB_MODEL + " into " + folder
                + " (the config.json of the same checkpoint as the weights).";
        return read(folderOrFile, CONFIG_NAME, "CLIP config.json", download, (o, source) -> {
            try {
                return fromJson(o, source);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + ": " + download, e);
            }
        });
    }

    /** Reads {@code config.json}; the same as {@link #load(Path)}. */
    public static ClipConfig fromJson(Path configJson) throws IOException {
        return load(configJson);
    }

    /** Parses the text of a {@code config.json}. */
    public static ClipConfig fromJsonString(String json) {
        return fromJson(parseObject(json, "CLIP config.json", "CLIP config text", "pass a CLIP config.json"), "code");
    }

    /**
     * A config from a parsed {@code config.json} (copied) that came from {@code source}.
     *
     * @throws IllegalArgumentException when it is not a CLIP config (e.g. a diffusers config) or a key is wrong
     */
    public static ClipConfig fromJson(JsonObject o, String source) {
        if (!o.has("model_type") && !o.has("text_config") && !o.has("vision_config") && !o.has("text_config_dict")) {
            JsonElement cls = o.get(CLASS_NAME_KEY);
            throw new IllegalArgumentException(source + " is not a CLIP config.json (it has no model_type 'clip' and no "
                    + "text_config / vision_config" + (cls != null && cls.isJsonPrimitive() ? "; it is the config of a "
                    + cls.getAsString() : "") + ")");
        }
        return new ClipConfig(entries(o), source);
    }

    /** The text transformer. */
    public TextConfig textConfig() {
        return text;
    }

    /** The vision transformer. */
    public VisionConfig visionConfig() {
        return vision;
    }

    /** {@code projection_dim} (512). */
    public int projectionDim() {
        return get(PROJECTION_DIM);
    }

    /** {@code logit_scale_init_value} (2.6592). */
    public double logitScaleInitValue() {
        return get(LOGIT_SCALE_INIT_VALUE);
    }

    /**
     * What the two towers share: a config nested in {@code config.json} (not a file of its own) with the keys
     * both have, each tower with its own defaults.
     */
    public abstract static class Tower<C extends Tower<C>> extends JsonConfig<C> {

        /** The keys both towers have. */
        record Shared(Field<Integer> hiddenSize, Field<Integer> intermediateSize, Field<Integer> numAttentionHeads,
                Field<Integer> numHiddenLayers, Field<Double> layerNormEps, Field<String> hiddenAct) {
            /** A tower's kind: the shared keys and its own. */
            Kind kind(Field<?>... own) {
                List<Field<?>> all = new java.util.ArrayList<>(List.of(hiddenSize, intermediateSize, numAttentionHeads,
                        numHiddenLayers, layerNormEps, hiddenAct));
                all.addAll(List.of(own));
                return new Kind("CLIP config.json", null, null, all);
            }
        }

        private final Shared shared;

        Tower(Shared shared, Kind kind, Map<String, JsonElement> values, String source) {
            super(kind, values, source);
            this.shared = shared;
            if (hiddenSize() % numAttentionHeads() != 0) {
                throw new IllegalArgumentException(source + ": hidden_size " + hiddenSize()
                        + " must be a multiple of num_attention_heads " + numAttentionHeads());
            }
        }

        /** {@code hidden_size}. */
        public int hiddenSize() {
            return get(shared.hiddenSize());
        }

        /** {@code intermediate_size}. */
        public int intermediateSize() {
            return get(shared.intermediateSize());
        }

        /** {@code num_attention_heads}. */
        public int numAttentionHeads() {
            return get(shared.numAttentionHeads());
        }

        /** {@code num_hidden_layers}. */
        public int numHiddenLayers() {
            return get(shared.numHiddenLayers());
        }

        /** {@code layer_norm_eps} (1e-5). */
        public double layerNormEps() {
            return get(shared.layerNormEps());
        }

        /** {@code hidden_act}, lower case. */
        public String hiddenAct() {
            return get(shared.hiddenAct());
        }

        /** Size of one attention head. */
        public int headDim() {
            return hiddenSize() / numAttentionHeads();
        }
    }

    /** {@code CLIPTextConfig}, transformers' defaults (openai/clip-vit-base-patch32's but for the eos id). */
    public static final class TextConfig extends Tower<TextConfig> {
        /** {@code vocab_size}. */
        public static final Field<Integer> VOCAB_SIZE = field("vocab_size", 49408);
        /** {@code hidden_size}. */
        public static final Field<Integer> HIDDEN_SIZE = field("hidden_size", 512);
        /** {@code intermediate_size}. */
        public static final Field<Integer> INTERMEDIATE_SIZE = field("intermediate_size", 2048);
        /** {@code num_attention_heads}. */
        public static final Field<Integer> NUM_ATTENTION_HEADS = field("num_attention_heads", 8);
        /** {@code num_hidden_layers}. */
        public static final Field<Integer> NUM_HIDDEN_LAYERS = field("num_hidden_layers", 12);
        /** {@code max_position_embeddings}. */
        public static final Field<Integer> MAX_POSITION_EMBEDDINGS = field("max_position_embeddings", 77);
        /** {@code layer_norm_eps}. */
        public static final Field<Double> LAYER_NORM_EPS = field("layer_norm_eps", 1e-5);
        /** {@code hidden_act}: quick_gelu or gelu. */
        public static final Field<String> HIDDEN_ACT = field("hidden_act", ACTIVATION, "quick_gelu");
        /**
         * {@code eos_token_id}: 2 in the released checkpoints, which selects the legacy pooling rule (the first
         * position of the largest id); any other value pools at the first position equal to it.
         */
        public static final Field<Integer> EOS_TOKEN_ID = field("eos_token_id", 49407);

        private static final Shared SHARED = new Shared(HIDDEN_SIZE, INTERMEDIATE_SIZE, NUM_ATTENTION_HEADS,
                NUM_HIDDEN_LAYERS, LAYER_NORM_EPS, HIDDEN_ACT);
        private static final Kind KIND = SHARED.kind(VOCAB_SIZE, MAX_POSITION_EMBEDDINGS, EOS_TOKEN_ID);

        private TextConfig(Map<String, JsonElement> values, String source) {
            super(SHARED, KIND, values, source);
        }

        /** transformers' defaults. */
        public static TextConfig defaults() {
            return new TextConfig(Map.of(), "code");
        }

        @Override
        protected TextConfig create(Map<String, JsonElement> values, String source) {
            return new TextConfig(values, source);
        }

        /** {@code vocab_size} (49408). */
        public int vocabSize() {
            return get(VOCAB_SIZE);
        }

        /** {@code max_position_embeddings} (77). */
        public int maxPositionEmbeddings() {
            return get(MAX_POSITION_EMBEDDINGS);
        }

        /** {@code eos_token_id} (49407; 2 in openai/clip-vit-base-patch32). */
        public int eosTokenId() {
            return get(EOS_TOKEN_ID);
        }
    }

    /** {@code CLIPVisionConfig}, transformers' defaults (openai/clip-vit-base-patch32). */
    public static final class VisionConfig extends Tower<VisionConfig> {
        /** {@code hidden_size}. */
        public static final Field<Integer> HIDDEN_SIZE = field("hidden_size", 768);
        /** {@code intermediate_size}. */
        public static final Field<Integer> INTERMEDIATE_SIZE = field("intermediate_size", 3072);
        /** {@code num_attention_heads}. */
        public static final Field<Integer> NUM_ATTENTION_HEADS = field("num_attention_heads", 12);
        /** {@code num_hidden_layers}. */
        public static final Field<Integer> NUM_HIDDEN_LAYERS = field("num_hidden_layers", 12);
        /** {@code image_size}. */
        public static final Field<Integer> IMAGE_SIZE = field("image_size", 224);
        /** {@code patch_size}. */
        public static final Field<Integer> PATCH_SIZE = field("patch_size", 32);
        /** {@code num_channels}. */
        public static final Field<Integer> NUM_CHANNELS = field("num_channels", 3);
        /** {@code layer_norm_eps}. */
        public static final Field<Double> LAYER_NORM_EPS = field("layer_norm_eps", 1e-5);
        /** {@code hidden_act}: quick_gelu or gelu. */
        public static final Field<String> HIDDEN_ACT = field("hidden_act", ACTIVATION, "quick_gelu");

        private static final Shared SHARED = new Shared(HIDDEN_SIZE, INTERMEDIATE_SIZE, NUM_ATTENTION_HEADS,
                NUM_HIDDEN_LAYERS, LAYER_NORM_EPS, HIDDEN_ACT);
        private static final Kind KIND = SHARED.kind(IMAGE_SIZE, PATCH_SIZE, NUM_CHANNELS);

        private VisionConfig(Map<String, JsonElement> values, String source) {
            super(SHARED, KIND, values, source);
        }

        /** transformers' defaults. */
        public static VisionConfig defaults() {
            return new VisionConfig(Map.of(), "code");
        }

        @Override
        protected VisionConfig create(Map<String, JsonElement> values, String source) {
            return new VisionConfig(values, source);
        }

        /** {@code image_size} (224). */
        public int imageSize() {
            return get(IMAGE_SIZE);
        }

        /** {@code patch_size} (32). */
        public int patchSize() {
            return get(PATCH_SIZE);
        }

        /** {@code num_channels} (3). */
        public int numChannels() {
            return get(NUM_CHANNELS);
        }

        /** Patches per side ({@code image_size / patch_size}). */
        public int gridSize() {
            return imageSize() / patchSize();
        }

        /** Tokens of the vision transformer: the class token plus one per patch (50 for ViT-B/32). */
        public int numPositions() {
            return gridSize() * gridSize() + 1;
        }
    }
}
