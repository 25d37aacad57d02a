package diffusionkit.clip;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import diffusionkit.io.JsonConfig;

import java.io.IOException;
import java.nio.file.Files;
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

    private static final Kind<ClipConfig> KIND = new Kind<>("CLIP config.json", CONFIG_NAME, null,
            List.of(MODEL_TYPE, PROJECTION_DIM, LOGIT_SCALE_INIT_VALUE, TEXT_CONFIG, VISION_CONFIG), ClipConfig::new);

    /** {@code hidden_act} of either tower: quick_gelu or gelu (any case), read in lower case. */
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
        text = new TextConfig(sub(TEXT_CONFIG).asMap(), source + " text_config");
        vision = new VisionConfig(sub(VISION_CONFIG).asMap(), source + " vision_config");
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

    /**
     * Reads {@code config.json} of a CLIP folder (or the file itself); errors name the file, what is wrong (not
     * JSON, not a CLIP config, the bad key) and where to get the right file.
     */
    public static ClipConfig load(Path folderOrFile) throws IOException {
        Path file = folderOrFile.toAbsolutePath();
        Path folder = Files.isDirectory(file) ? file : file.getParent();
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

    /**
     * A config from a parsed {@code config.json} (copied) that came from {@code source}.
     *
     * @throws IllegalArgumentException when it is not a CLIP config (e.g. a diffusers config) or a key is wrong
     */
    public static ClipConfig fromJson(JsonObject o, String source) {
        if (!o.has("model_type") && !o.has("text_config") && !o.has("vision_config") && !o.has("text_config_dict")) {
            String cls = className(o.get(CLASS_NAME_KEY));
            throw new IllegalArgumentException(source + " is not a CLIP config.json (it has no model_type 'clip' and no "
                    + "text_config / vision_config" + (cls != null ? "; it is the config of a " + cls : "") + ")");
        }
        return new ClipConfig(o.asMap(), source);
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

    /**
     * What the two towers share: a config nested in {@code config.json} (not a file of its own) with the keys
     * both have, each tower declaring them with its own defaults.
     */
    public abstract static class Tower<C extends Tower<C>> extends JsonConfig<C> {

        Tower(Kind<C> kind, Map<String, JsonElement> values, String source) {
            super(kind, values, source);
            if (hiddenSize() % numAttentionHeads() != 0) {
                throw new IllegalArgumentException(source + ": hidden_size " + hiddenSize()
                        + " must be a multiple of num_attention_heads " + numAttentionHeads());
            }
        }

        /** {@code hidden_size}. */
        public int hiddenSize() {
            return declared("hidden_size");
        }

        /** {@code intermediate_size}. */
        public int intermediateSize() {
            return declared("intermediate_size");
        }

        /** {@code num_attention_heads}. */
        public int numAttentionHeads() {
            return declared("num_attention_heads");
        }

        /** {@code num_hidden_layers}. */
        public int numHiddenLayers() {
            return declared("num_hidden_layers");
        }

        /** {@code layer_norm_eps} (1e-5). */
        public double layerNormEps() {
            return declared("layer_norm_eps");
        }

        /** {@code hidden_act}, lower case. */
        public String hiddenAct() {
            return declared("hidden_act");
        }
    }

    /** {@code CLIPTextConfig}, transformers' defaults (openai/clip-vit-base-patch32's but for the eos id). */
    public static final class TextConfig extends Tower<TextConfig> {

        private static final Kind<TextConfig> KIND = new Kind<>("CLIP config.json", null, null, List.of(
                field("vocab_size", 49408), field("hidden_size", 512), field("intermediate_size", 2048),
                field("num_attention_heads", 8), field("num_hidden_layers", 12), field("max_position_embeddings", 77),
                field("layer_norm_eps", 1e-5), field("hidden_act", ACTIVATION, "quick_gelu"),
                field("eos_token_id", 49407)), TextConfig::new);

        private TextConfig(Map<String, JsonElement> values, String source) {
            super(KIND, values, source);
        }

        /** {@code vocab_size} (49408). */
        public int vocabSize() {
            return declared("vocab_size");
        }

        /** {@code max_position_embeddings} (77). */
        public int maxPositionEmbeddings() {
            return declared("max_position_embeddings");
        }

        /**
         * {@code eos_token_id} (49407): 2 in the released checkpoints such as openai/clip-vit-base-patch32, which
         * selects the legacy pooling rule (the first position of the largest id); any other value pools at the first
         * position equal to it.
         */
        public int eosTokenId() {
            return declared("eos_token_id");
        }
    }

    /** {@code CLIPVisionConfig}, transformers' defaults (openai/clip-vit-base-patch32). */
    public static final class VisionConfig extends Tower<VisionConfig> {

        private static final Kind<VisionConfig> KIND = new Kind<>("CLIP config.json", null, null, List.of(
                field("hidden_size", 768), field("intermediate_size", 3072), field("num_attention_heads", 12),
                field("num_hidden_layers", 12), field("image_size", 224), field("patch_size", 32),
                field("num_channels", 3), field("layer_norm_eps", 1e-5), field("hidden_act", ACTIVATION, "quick_gelu")),
                VisionConfig::new);

        private VisionConfig(Map<String, JsonElement> values, String source) {
            super(KIND, values, source);
        }

        /** {@code image_size} (224). */
        public int imageSize() {
            return declared("image_size");
        }

        /** {@code patch_size} (32). */
        public int patchSize() {
            return declared("patch_size");
        }

        /** {@code num_channels} (3). */
        public int numChannels() {
            return declared("num_channels");
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
