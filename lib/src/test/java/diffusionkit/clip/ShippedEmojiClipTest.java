package diffusionkit.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The shipped emoji CLIP ({@code datasets/models/emoji-clip}) is a transformers {@code CLIPModel} folder: the files
 * of openai/clip-vit-base-patch32, the weight names of transformers' fixture {@code clip_tiny} (written by
 * {@code CLIPModel.save_pretrained}), the real tokenizer files, and embeddings equal to those of an independent
 * float64 implementation of transformers' CLIPModel ({@code environment/reference/emoji_clip_reference.py}, which
 * gives transformers' own {@code clip_tiny} outputs to 6e-7) on emoji training kept out.
 */
class ShippedEmojiClipTest {

    static final Path FOLDER = Path.of("../datasets/models/emoji-clip");

    @Test
    void theFolderHasOpenaisFilesAndTransformersKeyNames() throws Exception {
        for (String f : List.of("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json",
                "special_tokens_map.json", "preprocessor_config.json", "MODEL_CARD.md")) {
            assertTrue(Files.isRegularFile(FOLDER.resolve(f)), f);
        }
        Path tiny = ClipTrainingTest.vectors().resolve("clip_tiny");
        assertEquals(templates(tiny), templates(FOLDER), "the weight names of transformers' CLIPModel (layer numbers aside)");
        for (String f : List.of("vocab.json", "merges.txt")) {
            assertArrayEquals(Files.readAllBytes(tiny.resolve(f)), Files.readAllBytes(FOLDER.resolve(f)), f);
        }
        JsonObject config = JsonParser.parseString(Files.readString(FOLDER.resolve("config.json"))).getAsJsonObject();
        assertEquals("clip", config.get("model_type").getAsString());
        assertEquals("CLIPModel", config.getAsJsonArray("architectures").get(0).getAsString());
        JsonObject tok = JsonParser.parseString(Files.readString(FOLDER.resolve("tokenizer_config.json"))).getAsJsonObject();
        assertEquals("CLIPTokenizer", tok.get("tokenizer_class").getAsString());
        try (NDManager m = NDManager.newBaseManager(); ClipModel clip = ClipModel.fromPretrained(FOLDER, m)) {
            assertEquals(tok.get("model_max_length").getAsInt(), clip.getConfig().textConfig().maxPositionEmbeddings(),
                    "the tokenizer pads to the model's text positions");
        }
    }

    /** Weight names with layer numbers replaced by {@code N}. */
    static Set<String> templates(Path folder) throws Exception {
        Set<String> out = new TreeSet<>();
        for (Safetensors.TensorInfo t : Safetensors.readHeader(folder.resolve("model.safetensors")).tensors()) {
            out.add(t.name().replaceAll("\\.layers\\.\\d+\\.", ".layers.N."));
        }
        return out;
    }

    @Test
    void embeddingsEqualTheFloat64Reference() throws Exception {
        Path ref = reference();
        List<String> prompts = referencePrompts();
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(FOLDER);
        try (NDManager m = NDManager.newBaseManager(); ClipModel clip = ClipModel.fromPretrained(FOLDER, m)) {
            Map<String, NDArray> v = Safetensors.read(ref, m);
            ClipTokenizer.Batch b = tokenizer.encodeBatch(prompts, ClipTokenizer.Padding.EOS, m);
            assertArrayEquals(v.get("input_ids").toLongArray(), b.inputIds().toLongArray(), "the tokenizer's ids");
            assertArrayEquals(v.get("attention_mask").toLongArray(), b.attentionMask().toLongArray());
            close(v.get("image_embeds"), clip.getImageFeatures(v.get("pixel_values")), "image_embeds");
            close(v.get("text_embeds"), clip.getTextFeatures(v.get("input_ids"), v.get("attention_mask")), "text_embeds");
        }
    }

    @Test
    void bestMatchPicksTheReferencesMostSimilarPrompt() throws Exception {
        Path ref = reference();
        List<String> prompts = referencePrompts();
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(FOLDER);
        try (NDManager m = NDManager.newBaseManager(); ClipModel clip = ClipModel.fromPretrained(FOLDER, m)) {
            Map<String, NDArray> v = Safetensors.read(ref, m);
            // the float64 reference's choice: the prompt whose embedding has the largest cosine with the image's
            NDArray cos = ClipModel.normalize(v.get("image_embeds")).matMul(ClipModel.normalize(v.get("text_embeds")).transpose());
            long[] expected = cos.argMax(1).toLongArray();
            // the images in [-1, 1]: pixel_values is (image - mean) / std
            NDArray mean = m.create(ClipLoss.MEAN, new Shape(1, 3, 1, 1)), std = m.create(ClipLoss.STD, new Shape(1, 3, 1, 1));
            NDArray images = v.get("pixel_values").mul(std).add(mean);
            assertArrayEquals(expected, ClipLoss.bestMatch(clip, tokenizer, images, prompts));
            assertTrue(Arrays.stream(expected).distinct().count() > 1, "the images do not all pick one prompt: " + Arrays.toString(expected));
            assertThrows(IllegalArgumentException.class, () -> ClipLoss.bestMatch(clip, tokenizer, images, List.of()));
        }
    }

    /** The float64 reference's outputs on six held-out emoji and seven prompts. */
    static Path reference() throws Exception {
        return ClipTrainingTest.vectors().resolve("emoji_clip_reference.safetensors");
    }

    /** The prompts of {@link #reference()}, from its metadata. */
    static List<String> referencePrompts() throws Exception {
        return Arrays.asList(Safetensors.metadata(reference()).get("prompts").split("\\|", -1));
    }

    /** {@link ClipModelTest#assertClose} within 1e-4 of the values' scale (at least 1). */
    static void close(NDArray expected, NDArray actual, String what) {
        float scale = Math.max(1f, expected.abs().max().getFloat());
        ClipModelTest.assertClose(expected, actual, 1e-4f * scale, what);
    }
}
