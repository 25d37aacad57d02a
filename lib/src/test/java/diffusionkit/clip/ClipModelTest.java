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
        assertContains(e, "cannot read the CLIP weights: " + tmp.resolve("pytorch_model.bin") + " is not a PyTorch checkpoint",
                "neither a torch.save zip", "download pytorch_model.bin of openai/clip-vit-base-patch32 again into " + tmp);
        Files.delete(tmp.resolve("pytorch_model.bin"));
        Files.delete(tmp.resolve("config.json"));
        Files.copy(folder.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertTrue(e.getMessage().startsWith("CLIP folder " + tmp + " lacks config.json:"), e.getMessage());
    }

    static void assertContains(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
        }
    }

    /** Image and text embeddings of the reference inputs. */
    static NDArray[] embeddings(ClipModel m) {
        return new NDArray[] {m.getImageFeatures(ref.get("pixel_values")), m.getTextFeatures(ref.get("input_ids"), ref.get("attention_mask"))};
    }

    /**
     * Older transformers saved openai/clip-vit-base-patch32 with two int64 buffers, text_model.embeddings.position_ids
     * [1, 77] and vision_model.embeddings.position_ids [1, 50] (arange). A model.safetensors with them loads: they are
     * dropped (78 parameters) and the outputs are transformers'. (The kit has no writer of pytorch_model.bin, so only
     * the safetensors form is built here; both files go through the same fromStateDict.)
     */
    @Test
    void positionIdsBuffersOfOlderCheckpointsAreDropped(@TempDir Path tmp) throws IOException {
        Files.copy(folder.resolve("config.json"), tmp.resolve("config.json"));
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> sd = new LinkedHashMap<>(Safetensors.read(folder.resolve("model.safetensors"), m));
            sd.put("text_model.embeddings.position_ids", m.arange(0, 77, 1, DataType.INT64).reshape(1, 77));
            sd.put("vision_model.embeddings.position_ids", m.arange(0, 50, 1, DataType.INT64).reshape(1, 50));
            assertEquals(DataType.INT64, sd.get("text_model.embeddings.position_ids").getDataType());
            Safetensors.write(tmp.resolve("model.safetensors"), sd, Map.of("format", "pt"));
        }
        Safetensors.Header header = Safetensors.readHeader(tmp.resolve("model.safetensors"));
        assertEquals(80, header.tensors().size());
        assertTrue(header.tensors().stream().anyMatch(t -> t.name().equals("vision_model.embeddings.position_ids")
                && t.dtype().equals("I64") && java.util.Arrays.equals(t.shape(), new long[] {1, 50})));
        try (NDManager m = manager.newSubManager(); ClipModel withBuffers = ClipModel.fromPretrained(tmp, m)) {
            assertEquals(78, withBuffers.getParameters().size());
            assertTrue(withBuffers.getParameters().keySet().stream().noneMatch(k -> k.endsWith("position_ids")));
            NDArray[] e = embeddings(withBuffers);
            assertClose(ref.get("image_embeds"), e[0], TOL, "image_embeds");
            assertClose(ref.get("text_embeds"), e[1], TOL, "text_embeds");
        }
    }

    /** float32 to the IEEE binary16 bits of the nearest half (ties to even), for weight magnitudes (no overflow). */
    static short toHalfBits(float x) {
        int sign = (Float.floatToRawIntBits(x) >>> 16) & 0x8000;
        double a = Math.abs((double) x);
        if (a == 0) {
            return (short) sign;
        }
        int e = Math.max(Math.getExponent(a), -14);                      // 10 mantissa bits, smallest normal 2^-14
        double r = Math.rint(a / Math.scalb(1.0, e - 10)) * Math.scalb(1.0, e - 10);
        if (r < 0x1p-14) {
            return (short) (sign | (int) Math.rint(r / 0x1p-24));        // subnormal: r = mant * 2^-24
        }
        int exp = Math.getExponent(r);                                    // rounding may have carried to 2^(e+1)
        int mant = (int) Math.rint((r / Math.scalb(1.0, exp) - 1) * 1024);
        return (short) (sign | ((exp + 15) << 10) | mant);
    }

    /** float32 to the bfloat16 bits of the nearest value (ties to even). */
    static short toBfloat16Bits(float x) {
        int bits = Float.floatToRawIntBits(x);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * Writes the float tensors of {@code sd} as F16 or BF16 safetensors (as safetensors.torch.save_file writes a
     * model.half() / model.bfloat16()): the kit's writer stores floats as F32, so the header and bytes are built here.
     */
    static void writeHalfSafetensors(Path file, Map<String, NDArray> sd, String dtype) throws IOException {
        com.google.gson.JsonObject header = new com.google.gson.JsonObject();
        com.google.gson.JsonObject meta = new com.google.gson.JsonObject();
        meta.addProperty("format", "pt");
        header.add("__metadata__", meta);
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, NDArray> e : sd.entrySet()) {
            float[] v = e.getValue().toFloatArray();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                b.putShort(dtype.equals("F16") ? toHalfBits(f) : toBfloat16Bits(f));
            }
            com.google.gson.JsonObject t = new com.google.gson.JsonObject();
            t.addProperty("dtype", dtype);
            com.google.gson.JsonArray shape = new com.google.gson.JsonArray();
            for (long d : e.getValue().getShape().getShape()) {
                shape.add(d);
            }
            t.add("shape", shape);
            com.google.gson.JsonArray offsets = new com.google.gson.JsonArray();
            offsets.add(data.size());
            offsets.add(data.size() + b.capacity());
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
            data.write(b.array());
        }
        byte[] h = header.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        try (java.io.OutputStream out = Files.newOutputStream(file)) {
            out.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(h);
            out.write(" ".repeat(padded - h.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(data.toByteArray());
        }
    }

    /** max|a - b| / max|b|. */
    static float relDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat() / b.abs().max().getFloat();
    }

    /**
     * Half-precision CLIP weights: a float16 and a bfloat16 copy of the tiny CLIP's model.safetensors (written here)
     * load, and their embeddings equal the float32 model's up to the weights' rounding (1e-2 relative; float16
     * has 11 significant bits, bfloat16 8). The weights themselves are the float32 ones rounded, exactly.
     */
    @Test
    void halfPrecisionSafetensorsLoadAndMatchFloat32(@TempDir Path tmp) throws IOException {
        NDArray[] f32 = embeddings(model);
        for (String dtype : new String[] {"F16", "BF16"}) {
            Path dir = tmp.resolve(dtype);
            Files.createDirectories(dir);
            Files.copy(folder.resolve("config.json"), dir.resolve("config.json"));
            try (NDManager m = manager.newSubManager()) {
                writeHalfSafetensors(dir.resolve("model.safetensors"), Safetensors.read(folder.resolve("model.safetensors"), m), dtype);
            }
            assertTrue(Safetensors.readHeader(dir.resolve("model.safetensors")).tensors().stream().allMatch(t -> t.dtype().equals(dtype)));
            try (NDManager m = manager.newSubManager(); ClipModel half = ClipModel.fromPretrained(dir, m)) {
                float[] w = model.getParameter("text_model.encoder.layers.0.mlp.fc1.weight").toFloatArray();
                float[] wh = half.getParameter("text_model.encoder.layers.0.mlp.fc1.weight").toFloatArray();
                for (int i = 0; i < w.length; i++) {
                    short bits = dtype.equals("F16") ? toHalfBits(w[i]) : toBfloat16Bits(w[i]);
                    float expected = dtype.equals("F16") ? halfToFloat(bits) : Float.intBitsToFloat((bits & 0xFFFF) << 16);
                    assertEquals(expected, wh[i], 0f, dtype + " weight " + i);
                }
                NDArray[] e = embeddings(half);
                float di = relDiff(e[0], f32[0]);
                float dt = relDiff(e[1], f32[1]);
                System.out.printf("%s weights: image embeds rel. diff %.2e, text embeds %.2e%n", dtype, di, dt);
                assertTrue(di > 0 && di <= 1e-2f, dtype + " image embeds: " + di);
                assertTrue(dt > 0 && dt <= 1e-2f, dtype + " text embeds: " + dt);
            }
        }
    }

    /** binary16 bits to float, for the test's expectation (normal and subnormal values). */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        double v = exp == 0 ? mant * 0x1p-24 : Math.scalb(1 + mant / 1024.0, exp - 15);
        return (float) ((bits & 0x8000) != 0 ? -v : v);
    }

    /**
     * A state dict of float16 (or float64) arrays, a model converted in memory, is cast to float32, not reported as
     * mis-shaped, and gives the float32 outputs up to rounding. (bfloat16 is covered by the file test above: the
     * kit's readers return float32, and DJL 0.36's {@code toType(BFLOAT16)} on PyTorch aborts the JVM with "terminate
     * called without an active exception", so no bfloat16 NDArray can be made here.)
     */
    @Test
    void halfPrecisionStateDictIsUpcast() throws IOException {
        NDArray[] f32 = embeddings(model);
        for (DataType type : new DataType[] {DataType.FLOAT16, DataType.FLOAT64}) {
            try (NDManager m = manager.newSubManager()) {
                Map<String, NDArray> sd = new LinkedHashMap<>();
                for (Map.Entry<String, NDArray> e : Safetensors.read(folder.resolve("model.safetensors"), m).entrySet()) {
                    sd.put(e.getKey(), e.getValue().toType(type, false));
                }
                assertEquals(type, sd.get("logit_scale").getDataType());
                try (ClipModel half = ClipModel.fromStateDict(model.getConfig(), sd, m.newSubManager(), type + " state dict")) {
                    assertEquals(DataType.FLOAT32, half.getParameter("visual_projection.weight").getDataType());
                    NDArray[] e = embeddings(half);
                    float di = relDiff(e[0], f32[0]);
                    float dt = relDiff(e[1], f32[1]);
                    System.out.printf("%s state dict: image embeds rel. diff %.2e, text embeds %.2e%n", type, di, dt);
                    assertTrue(di <= 1e-2f && dt <= 1e-2f, type + ": " + di + ", " + dt);
                }
            }
        }
    }

    /** Malformed config.json and weights inside a CLIP folder: each error names the file, the problem and the fix. */
    @Test
    void malformedConfigAndWeightsAreNamedWithTheFix(@TempDir Path tmp) throws IOException {
        Files.copy(folder.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        Path config = tmp.resolve("config.json");
        String fix = "download config.json of openai/clip-vit-base-patch32 into " + tmp;

        Files.writeString(config, "{\"model_type\": \"clip\", \"projection_dim\": 16,");     // cut short
        CheckpointException e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, config + " is not valid JSON", fix);

        Files.copy(folder.getParent().getParent().resolve("unet_a/config.json"), config,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);                   // a diffusers UNet's config
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, config + " is not a CLIP config.json (it has no model_type 'clip' and no text_config / "
                + "vision_config; it is the config of a UNet2DModel)", fix);

        Files.writeString(config, "[1, 2, 3]");
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, config + " is not a CLIP config.json (its JSON is not an object {...} but [1,2,3])", fix);

        Files.writeString(config, "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 768}");
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, "(model_type is 'clip_vision_model', expected 'clip')", fix);

        String good = Files.readString(folder.resolve("config.json"));
        Files.writeString(config, good.replace("\"projection_dim\": 16", "\"projection_dim\": \"sixteen\""));
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, config + ": \"projection_dim\" must be an integer, found \"sixteen\"", fix);

        // a truncated model.safetensors next to a good config.json
        Files.writeString(config, good);
        byte[] full = Files.readAllBytes(folder.resolve("model.safetensors"));
        Files.write(tmp.resolve("model.safetensors"), java.util.Arrays.copyOf(full, full.length / 2));
        e = assertThrows(CheckpointException.class, () -> ClipModel.fromPretrained(tmp, manager));
        assertContains(e, "cannot read the CLIP weights: " + tmp.resolve("model.safetensors") + " is not a valid safetensors file",
                "download model.safetensors of openai/clip-vit-base-patch32 again into " + tmp);
        System.out.println("truncated model.safetensors: " + e.getMessage());
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
