package diffusionkit.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIPModel outputs of the tiny random CLIP against transformers ({@code vectors/clip/clip_tiny_io.safetensors}). */
class ClipModelTest {

    static final float TOL = 1e-4f;

    static NDManager manager;
    static Path folder;
    static ClipModel model;
    static Map<String, NDArray> ref;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        Path vectors = Path.of(ClipModelTest.class.getResource("/vectors/clip/clip_tiny_io.safetensors").toURI()).getParent();
        folder = vectors.resolve("clip_tiny");
        manager = NDManager.newBaseManager();
        model = ClipModel.fromPretrained(folder, manager);
        ref = Safetensors.read(vectors.resolve("clip_tiny_io.safetensors"), manager);
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    static void assertClose(NDArray expected, NDArray actual, float tol, String what) {
        assertEquals(expected.getShape(), actual.getShape(), what + " shape");
        float maxDiff = expected.sub(actual).abs().max().getFloat();
        assertTrue(maxDiff <= tol, what + ": max|diff| = " + maxDiff + " > " + tol);
    }

    @Test
    void configIsRead() {
        ClipConfig c = model.getConfig();
        assertEquals(32, c.textConfig().hiddenSize());
        assertEquals(37, c.textConfig().intermediateSize());
        assertEquals(4, c.textConfig().numAttentionHeads());
        assertEquals(2, c.textConfig().numHiddenLayers());
        assertEquals(77, c.textConfig().maxPositionEmbeddings());
        assertEquals(2, c.textConfig().eosTokenId());
        assertEquals("quick_gelu", c.textConfig().hiddenAct());
        assertEquals(224, c.visionConfig().imageSize());
        assertEquals(32, c.visionConfig().patchSize());
        assertEquals(50, c.visionConfig().numPositions());
        assertEquals(16, c.projectionDim());
        assertEquals(78, model.getParameters().size());
        assertEquals(2.6592f, model.getLogitScale().getFloat(), 1e-6f);
        long n = model.getParameters().values().stream().mapToLong(a -> a.getShape().size()).sum();
        assertEquals(1711829L, n);
    }

    @Test
    void visionOutputsEqualTransformers() {
        try (NDManager m = manager.newSubManager()) {
            NDArray pixels = ref.get("pixel_values");
            ClipModel.VisionOutput out = model.visionModel(pixels);
            assertClose(ref.get("vision_last_hidden_state"), out.lastHiddenState(), TOL, "vision_last_hidden_state");
            assertClose(ref.get("vision_pooled"), out.pooledOutput(), TOL, "vision_pooled");
            assertClose(ref.get("image_embeds"), model.getImageFeatures(pixels), TOL, "image_embeds");
        }
    }

    @Test
    void textOutputsEqualTransformers() {
        NDArray ids = ref.get("input_ids");
        NDArray mask = ref.get("attention_mask");
        ClipModel.TextOutput withMask = model.textModel(ids, mask);
        assertClose(ref.get("text_last_hidden_state"), withMask.lastHiddenState(), TOL, "text_last_hidden_state");
        assertClose(ref.get("text_pooled"), withMask.pooledOutput(), TOL, "text_pooled");
        ClipModel.TextOutput noMask = model.textModel(ids, null);
        assertClose(ref.get("text_last_hidden_state_nomask"), noMask.lastHiddenState(), TOL, "text_last_hidden_state_nomask");
        assertClose(ref.get("text_pooled"), noMask.pooledOutput(), TOL, "text_pooled without mask");
        assertClose(ref.get("text_embeds"), model.getTextFeatures(ids, mask), TOL, "text_embeds");
        // OpenAI's zero-padded ids pool at the same (first) 49407
        assertClose(ref.get("text_embeds"), model.getTextFeatures(ref.get("openai_input_ids"), null), TOL, "text_embeds (OpenAI ids)");
        // int32 ids work too
        assertClose(ref.get("text_embeds"), model.getTextFeatures(ids.toType(DataType.INT32, false), mask), TOL, "text_embeds (int32 ids)");
    }

    @Test
    void tokenizerIdsEqualReferenceIds() throws IOException {
        ClipTokenizer tok = ClipTokenizer.fromPretrained(folder);
        String[] prompts = {"Red Rose (still life)", "Wintertime", "A picture of a happy dog", "green grass"};
        long[] refIds = ref.get("input_ids").toLongArray();
        for (int i = 0; i < prompts.length; i++) {
            int[] ids = tok.encode(prompts[i]);
            for (int j = 0; j < 77; j++) {
                assertEquals(refIds[i * 77 + j], ids[j]);
            }
        }
    }

    @Test
    void logitsEqualTransformers() {
        ClipModel.ClipOutput out = model.forward(ref.get("pixel_values"), ref.get("input_ids"), ref.get("attention_mask"));
        assertClose(ref.get("logits_per_image"), out.logitsPerImage(), TOL, "logits_per_image");
        assertClose(ref.get("logits_per_image").transpose(), out.logitsPerText(), TOL, "logits_per_text");
        assertClose(ClipModel.normalize(ref.get("image_embeds")), out.imageEmbeds(), TOL, "normalised image_embeds");
        assertEquals(new Shape(14, 16), out.textEmbeds().getShape());
    }

    @Test
    void pytorchBinLoadsLikeSafetensors(@TempDir Path tmp) throws IOException {
        for (String f : new String[] {"config.json", "pytorch_model.bin"}) {
            Files.copy(folder.resolve(f), tmp.resolve(f));
        }
        try (ClipModel fromBin = ClipModel.fromPretrained(tmp, manager);
                ClipModel fromSafetensors = ClipModel.fromPretrained(folder, manager)) {
            for (var e : fromSafetensors.getParameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), fromBin.getParameter(e.getKey()).toFloatArray(), 0f, e.getKey());
            }
        }
    }

    @Test
    void missingFilesAreNamed(@TempDir Path tmp) throws IOException {
        Files.copy(folder.resolve("config.json"), tmp.resolve("config.json"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertTrue(e.getMessage().contains("lacks model.safetensors (or pytorch_model.bin)"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.toString()) && e.getMessage().contains("openai/clip-vit-base-patch32"), e.getMessage());
        e = assertThrows(CheckpointException.class, () -> ClipModel.checkFolder(tmp, true));
        assertTrue(e.getMessage().contains("lacks model.safetensors (or pytorch_model.bin), vocab.json and merges.txt"), e.getMessage());
        Files.writeString(tmp.resolve("pytorch_model.bin"), "");
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertTrue(e.getMessage().contains(tmp.resolve("pytorch_model.bin").toString()), e.getMessage());
        Files.delete(tmp.resolve("pytorch_model.bin"));
        Files.delete(tmp.resolve("config.json"));
        Files.copy(folder.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertTrue(e.getMessage().startsWith("CLIP folder " + tmp + " lacks config.json:"), e.getMessage());
    }

    @Test
    void misshapedAndMissingTensorsAreNamed(@TempDir Path tmp) throws IOException {
        Files.copy(folder.resolve("config.json"), tmp.resolve("config.json"));
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> sd = new LinkedHashMap<>(Safetensors.read(folder.resolve("model.safetensors"), m));
            sd.put("text_model.encoder.layers.1.mlp.fc1.weight", m.zeros(new Shape(38, 32)));
            sd.remove("vision_model.post_layernorm.bias");
            Safetensors.write(tmp.resolve("model.safetensors"), sd, Map.of("format", "pt"));
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        String msg = e.getMessage();
        assertTrue(msg.contains("model.safetensors"), msg);
        assertTrue(msg.contains("text_model.encoder.layers.1.mlp.fc1.weight is float32 (38, 32), expected float32 (37, 32)"), msg);
        assertTrue(msg.contains("missing 1 tensor(s): vision_model.post_layernorm.bias"), msg);
    }

    @Test
    void parametersTakeGradients() throws IOException {
        try (NDManager m = manager.newSubManager(); ClipModel trainable = ClipModel.fromPretrained(folder, m)) {
            trainable.setRequiresGradient(true);
            NDArray pixels = ref.get("pixel_values");
            NDArray pooled;
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                ClipModel.VisionOutput out = trainable.visionModel(pixels);
                pooled = out.pooledOutput();
                NDArray features = trainable.getImageFeatures(pixels);
                gc.backward(features.sum());
            }
            // d sum(pooled @ W^T) / dW[j, k] = sum_b pooled[b, k] for every row j
            NDArray expected = pooled.sum(new int[] {0}).expandDims(0).broadcast(16, 32);
            assertClose(expected, trainable.getParameter("visual_projection.weight").getGradient(), 1e-4f, "d/dW visual_projection");
            float patchGrad = trainable.getParameter("vision_model.embeddings.patch_embedding.weight").getGradient().abs().max().getFloat();
            assertTrue(patchGrad > 0, "the gradient reaches the patch embedding");
        }
    }

    @Test
    void eosRule() {
        long[] ids = {49406, 5, 49407, 49407, 0};
        assertEquals(2, ClipModel.eosPosition(ids, 0, 5, 2));
        assertEquals(2, ClipModel.eosPosition(ids, 0, 5, 49407));
        assertArrayEquals(new long[] {49406, 5, 49407, 49407, 0}, ids);
    }
}
