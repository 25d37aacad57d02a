package diffusionkit.clip;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The configuration of a CLIP model, read from a Hugging Face {@code config.json} ({@code CLIPConfig} with its
 * {@code text_config} and {@code vision_config}). Field names are the JSON keys in camelCase; a missing key takes
 * transformers' default (those of openai/clip-vit-base-patch32).
 *
 * @param textConfig the text transformer
 * @param visionConfig the vision transformer
 * @param projectionDim {@code projection_dim}: size of the shared embedding space (512)
 * @param logitScaleInitValue {@code logit_scale_init_value}: initial log of the logit scale (2.6592 = ln(1/0.07));
 *     the loaded {@code logit_scale} weight is what the model uses
 */
public record ClipConfig(TextConfig textConfig, VisionConfig visionConfig, int projectionDim, double logitScaleInitValue) {

    /**
     * {@code CLIPTextConfig}.
     *
     * @param vocabSize {@code vocab_size} (49408)
     * @param hiddenSize {@code hidden_size} (512)
     * @param intermediateSize {@code intermediate_size} (2048)
     * @param numAttentionHeads {@code num_attention_heads} (8)
     * @param numHiddenLayers {@code num_hidden_layers} (12)
     * @param maxPositionEmbeddings {@code max_position_embeddings} (77)
     * @param layerNormEps {@code layer_norm_eps} (1e-5)
     * @param hiddenAct {@code hidden_act}: {@code quick_gelu} or {@code gelu}
     * @param eosTokenId {@code eos_token_id}: 2 in the released checkpoints, which selects the legacy pooling rule
     *     (the first position of the largest id); any other value pools at the first position equal to it
     */
    public record TextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numAttentionHeads, int numHiddenLayers,
                             int maxPositionEmbeddings, double layerNormEps, String hiddenAct, int eosTokenId) {

        /** transformers' defaults (openai/clip-vit-base-patch32 except the legacy eos id 2 of its config.json). */
        public static TextConfig defaults() {
            return new TextConfig(49408, 512, 2048, 8, 12, 77, 1e-5, "quick_gelu", 49407);
        }

        /** Size of one attention head. */
        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }
    }

    /**
     * {@code CLIPVisionConfig}.
     *
     * @param hiddenSize {@code hidden_size} (768)
     * @param intermediateSize {@code intermediate_size} (3072)
     * @param numAttentionHeads {@code num_attention_heads} (12)
     * @param numHiddenLayers {@code num_hidden_layers} (12)
     * @param imageSize {@code image_size} (224)
     * @param patchSize {@code patch_size} (32)
     * @param numChannels {@code num_channels} (3)
     * @param layerNormEps {@code layer_norm_eps} (1e-5)
     * @param hiddenAct {@code hidden_act}: {@code quick_gelu} or {@code gelu}
     */
    public record VisionConfig(int hiddenSize, int intermediateSize, int numAttentionHeads, int numHiddenLayers, int imageSize,
                               int patchSize, int numChannels, double layerNormEps, String hiddenAct) {

        /** transformers' defaults (openai/clip-vit-base-patch32). */
        public static VisionConfig defaults() {
            return new VisionConfig(768, 3072, 12, 12, 224, 32, 3, 1e-5, "quick_gelu");
        }

        /** Size of one attention head. */
        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }

        /** Patches per side ({@code image_size / patch_size}). */
        public int gridSize() {
            return imageSize / patchSize;
        }

        /** Tokens of the vision transformer: the class token plus one per patch (50 for ViT-B/32). */
        public int numPositions() {
            return gridSize() * gridSize() + 1;
        }
    }

    /** The configuration of openai/clip-vit-base-patch32. */
    public static ClipConfig defaults() {
        TextConfig t = TextConfig.defaults();
        return new ClipConfig(new TextConfig(t.vocabSize(), t.hiddenSize(), t.intermediateSize(), t.numAttentionHeads(),
                t.numHiddenLayers(), t.maxPositionEmbeddings(), t.layerNormEps(), t.hiddenAct(), 2),
                VisionConfig.defaults(), 512, 2.6592);
    }

    /**
     * Reads {@code config.json}; errors name the file, what is wrong (not JSON, not a CLIP config, the bad key) and
     * where to get the right file.
     */
    public static ClipConfig fromJson(Path configJson) throws IOException {
        String download = "download config.json of " + ClipModel.HUB_MODEL + " into " + configJson.toAbsolutePath().getParent()
                + " (the config.json of the same checkpoint as the weights).";
        String fix = ": " + download;
        JsonElement root = ClipTokenizer.parseJson(configJson, download);
        if (!root.isJsonObject()) {
            throw new CheckpointException(configJson + " is not a CLIP config.json (its JSON is not an object)" + fix);
        }
        try {
            return fromJson(root.getAsJsonObject());
        } catch (RuntimeException e) {
            throw new CheckpointException(configJson + " is not a CLIP config.json (" + e.getMessage() + ")" + fix, e);
        }
    }

    /** Parses the text of a {@code config.json}. */
    public static ClipConfig fromJsonString(String json) {
        return fromJson(JsonParser.parseString(json).getAsJsonObject());
    }

    private static ClipConfig fromJson(JsonObject o) {
        if (!o.has("model_type") && !o.has("text_config") && !o.has("vision_config") && !o.has("text_config_dict")) {
            JsonElement cls = o.get("_class_name");
            throw new IllegalArgumentException("it has no model_type 'clip' and no text_config / vision_config"
                    + (cls != null && cls.isJsonPrimitive() ? "; it is the config of a " + cls.getAsString() : ""));
        }
        String type = str(o, "model_type", "clip");
        if (!type.equals("clip")) {
            throw new IllegalArgumentException("model_type is '" + type + "', expected 'clip'");
        }
        JsonObject t = sub(o, "text_config");
        JsonObject v = sub(o, "vision_config");
        TextConfig td = TextConfig.defaults();
        TextConfig text = new TextConfig(
                integer(t, "vocab_size", td.vocabSize()),
                integer(t, "hidden_size", td.hiddenSize()),
                integer(t, "intermediate_size", td.intermediateSize()),
                integer(t, "num_attention_heads", td.numAttentionHeads()),
                integer(t, "num_hidden_layers", td.numHiddenLayers()),
                integer(t, "max_position_embeddings", td.maxPositionEmbeddings()),
                number(t, "layer_norm_eps", td.layerNormEps()),
                activation(str(t, "hidden_act", td.hiddenAct())),
                integer(t, "eos_token_id", td.eosTokenId()));
        VisionConfig vd = VisionConfig.defaults();
        VisionConfig vision = new VisionConfig(
                integer(v, "hidden_size", vd.hiddenSize()),
                integer(v, "intermediate_size", vd.intermediateSize()),
                integer(v, "num_attention_heads", vd.numAttentionHeads()),
                integer(v, "num_hidden_layers", vd.numHiddenLayers()),
                integer(v, "image_size", vd.imageSize()),
                integer(v, "patch_size", vd.patchSize()),
                integer(v, "num_channels", vd.numChannels()),
                number(v, "layer_norm_eps", vd.layerNormEps()),
                activation(str(v, "hidden_act", vd.hiddenAct())));
        if (text.hiddenSize() % text.numAttentionHeads() != 0 || vision.hiddenSize() % vision.numAttentionHeads() != 0) {
            throw new IllegalArgumentException("hidden_size must be a multiple of num_attention_heads");
        }
        if (vision.imageSize() % vision.patchSize() != 0) {
            throw new IllegalArgumentException("vision_config image_size " + vision.imageSize()
                    + " is not a multiple of patch_size " + vision.patchSize());
        }
        return new ClipConfig(text, vision, integer(o, "projection_dim", 512), number(o, "logit_scale_init_value", 2.6592));
    }

    /** {@code text_config}, else a non-null legacy {@code text_config_dict}, else defaults. */
    private static JsonObject sub(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            e = o.get(key + "_dict");
        }
        if (e != null && !e.isJsonNull() && !e.isJsonObject()) {
            throw new IllegalArgumentException(key + " is " + e + ", expected an object");
        }
        return e == null || e.isJsonNull() ? new JsonObject() : e.getAsJsonObject();
    }

    private static int integer(JsonObject o, String key, int def) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return def;
        }
        try {
            double v = e.getAsDouble();
            if (v == Math.rint(v) && Math.abs(v) <= Integer.MAX_VALUE) {
                return (int) v;
            }
        } catch (RuntimeException ignored) {
            // named below
        }
        throw new IllegalArgumentException(key + " is " + e + ", expected an integer");
    }

    private static double number(JsonObject o, String key, double def) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return def;
        }
        try {
            return e.getAsDouble();
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException(key + " is " + e + ", expected a number");
        }
    }

    private static String str(JsonObject o, String key, String def) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return def;
        }
        if (!e.isJsonPrimitive()) {
            throw new IllegalArgumentException(key + " is " + e + ", expected a string");
        }
        return e.getAsString();
    }

    private static String activation(String act) {
        String a = act.toLowerCase(Locale.ROOT);
        if (!a.equals("quick_gelu") && !a.equals("gelu")) {
            throw new IllegalArgumentException("hidden_act '" + act + "' is not supported (quick_gelu or gelu)");
        }
        return a;
    }
}
