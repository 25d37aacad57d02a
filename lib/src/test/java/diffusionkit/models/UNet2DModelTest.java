package diffusionkit.models;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static diffusionkit.models.UNet2DModelVectorsTest.maxAbsDiff;
import static diffusionkit.models.UNet2DModelVectorsTest.vectors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Saving, loading, state-dict errors and class conditioning of UNet2DModel. */
class UNet2DModelTest {

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static Map<String, NDArray> referenceWeights(NDManager m) throws Exception {
        return Safetensors.read(vectors("unet_a/diffusion_pytorch_model.safetensors"), m);
    }

    @Test
    void stateDictKeysAndShapesAreThoseOfDiffusers() throws Exception {
        try (NDManager m = manager.newSubManager();
             UNet2DModel unet = new UNet2DModel(UNet2DConfig.load(vectors("unet_b")), m)) {
            Map<String, NDArray> ref = Safetensors.read(vectors("unet_b/diffusion_pytorch_model.safetensors"), m);
            Map<String, Parameter> ours = unet.stateDictParameters();
            assertEquals(new TreeSet<>(ref.keySet()), new TreeSet<>(ours.keySet()));
            for (var e : ours.entrySet()) {
                assertEquals(ref.get(e.getKey()).getShape(), e.getValue().getArray().getShape(), e.getKey());
            }
            long n = ref.values().stream().mapToLong(NDArray::size).sum();
            assertEquals(n, unet.numParameters());
        }
    }

    @Test
    void saveThenLoadGivesIdenticalOutputsInTheDiffusersLayout(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("unet");
        try (NDManager m = manager.newSubManager();
             UNet2DModel a = UNet2DModel.fromPretrained(vectors("unet_a"), m)) {
            a.savePretrained(out);
            try (Stream<Path> files = Files.list(out)) {
                assertEquals(Set.of("config.json", "diffusion_pytorch_model.safetensors"),
                        files.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
            }
            JsonObject ref = JsonParser.parseString(Files.readString(vectors("unet_a/config.json"))).getAsJsonObject();
            JsonObject saved = JsonParser.parseString(Files.readString(out.resolve("config.json"))).getAsJsonObject();
            assertEquals(ref.keySet(), saved.keySet());
            assertEquals(ref, saved);
            Map<String, NDArray> refWeights = referenceWeights(m);
            Map<String, NDArray> savedWeights = Safetensors.read(out.resolve("diffusion_pytorch_model.safetensors"), m);
            assertEquals(List.copyOf(refWeights.keySet()).stream().sorted().toList(),
                    List.copyOf(savedWeights.keySet()).stream().sorted().toList());
            try (UNet2DModel b = UNet2DModel.fromPretrained(out, m)) {
                NDArray x = m.randomNormal(new Shape(2, 3, 16, 16));
                NDArray t = m.create(new long[] {10, 900});
                assertEquals(0.0, maxAbsDiff(a.forward(x, t, null), b.forward(x, t, null)));
            }
            // saving again over the folder keeps files that are not ours
            Files.writeString(out.resolve("README.md"), "hello");
            a.savePretrained(out);
            assertEquals("hello", Files.readString(out.resolve("README.md")));
        }
    }

    @Test
    void mismatchedWeightsListEveryKey() throws Exception {
        try (NDManager m = manager.newSubManager();
             UNet2DModel unet = new UNet2DModel(UNet2DConfig.load(vectors("unet_a")), m)) {
            Map<String, NDArray> w = new LinkedHashMap<>(referenceWeights(m));
            w.remove("mid_block.attentions.0.to_k.bias");
            w.put("mid_block.attentions.0.stray.weight", m.zeros(new Shape(3)));
            w.put("conv_in.weight", m.zeros(new Shape(32, 4, 3, 3)));
            StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> unet.loadStateDict(w));
            String msg = e.getMessage();
            assertTrue(msg.contains("mid_block.attentions.0.to_k.bias"), msg);
            assertTrue(msg.contains("mid_block.attentions.0.stray.weight"), msg);
            assertTrue(msg.contains("conv_in.weight: expected [32, 3, 3, 3], found [32, 4, 3, 3]"), msg);
            assertEquals(List.of("mid_block.attentions.0.to_k.bias"), e.missingKeys());
            assertEquals(List.of("mid_block.attentions.0.stray.weight"), e.unexpectedKeys());
            assertEquals(1, e.mismatchedKeys().size());
        }
    }

    @Test
    void folderWithMismatchedWeightsFailsNamingFileAndKeys(@TempDir Path dir) throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> w = new LinkedHashMap<>(referenceWeights(m));
            w.remove("conv_out.bias");
            Files.copy(vectors("unet_a/config.json"), dir.resolve("config.json"));
            Safetensors.write(dir.resolve("diffusion_pytorch_model.safetensors"), w, Map.of("format", "pt"));
            CheckpointException e = assertThrows(CheckpointException.class, () -> UNet2DModel.fromPretrained(dir, m));
            assertTrue(e.getMessage().contains("conv_out.bias") && e.getMessage().contains("diffusion_pytorch_model.safetensors"),
                    e.getMessage());
        }
    }

    @Test
    void folderWithoutWeightsFailsClearly(@TempDir Path dir) throws Exception {
        Files.copy(vectors("unet_a/config.json"), dir.resolve("config.json"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> UNet2DModel.fromPretrained(dir, manager));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model.safetensors") && e.getMessage().contains("config.json"),
                e.getMessage());
        Files.writeString(dir.resolve("diffusion_pytorch_model.bin"), "x");
        e = assertThrows(CheckpointException.class, () -> UNet2DModel.fromPretrained(dir, manager));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model.bin"), e.getMessage());
        Path empty = Files.createDirectory(dir.resolve("empty"));
        e = assertThrows(CheckpointException.class, () -> UNet2DModel.fromPretrained(empty, manager));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void unsupportedConfigInFolderFailsNamingTheKey(@TempDir Path dir) throws Exception {
        UNet2DConfig.load(vectors("unet_a")).with("act_fn", "mish").save(dir);
        Files.copy(vectors("unet_a/diffusion_pytorch_model.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> UNet2DModel.fromPretrained(dir, manager));
        assertTrue(e.getMessage().contains("'act_fn'") && e.getMessage().contains("mish"), e.getMessage());
    }

    /**
     * A class embedding adds its row to the time embedding: with all rows zero the model is unet_a (reference
     * output), and a row v acts exactly like adding v to time_embedding.linear_2.bias.
     */
    @Test
    void classEmbeddingIsAddedToTheTimeEmbedding() throws Exception {
        UNet2DConfig cfg = UNet2DConfig.load(vectors("unet_a")).with("num_class_embeds", 4);
        try (NDManager m = manager.newSubManager(); UNet2DModel unet = new UNet2DModel(cfg, m)) {
            assertEquals(new Shape(4, 128), unet.stateDictParameters().get("class_embedding.weight").getArray().getShape());
            Map<String, NDArray> w = new LinkedHashMap<>(referenceWeights(m));
            w.put("class_embedding.weight", m.zeros(new Shape(4, 128)));
            unet.loadStateDict(w);
            Map<String, NDArray> io = Safetensors.read(vectors("unet_a/io.safetensors"), m);
            NDArray labels = m.create(new long[] {1, 3});
            NDArray out = unet.forward(io.get("b2/sample"), io.get("b2/timestep"), labels);
            assertTrue(maxAbsDiff(out, io.get("b2/out_sample")) <= 1e-4);

            NDArray v = m.randomNormal(new Shape(128));
            NDArray table = m.zeros(new Shape(4, 128));
            table.set(new ai.djl.ndarray.index.NDIndex("2"), v);
            w.put("class_embedding.weight", table);
            unet.loadStateDict(w);
            NDArray cond = unet.forward(io.get("b2/sample"), io.get("b2/timestep"), m.create(new long[] {2, 2}));
            Map<String, NDArray> shifted = new LinkedHashMap<>(referenceWeights(m));
            shifted.put("time_embedding.linear_2.bias", shifted.get("time_embedding.linear_2.bias").add(v));
            try (UNet2DModel plain = new UNet2DModel(UNet2DConfig.load(vectors("unet_a")), m)) {
                plain.loadStateDict(shifted);
                NDArray expected = plain.forward(io.get("b2/sample"), io.get("b2/timestep"), null);
                assertTrue(maxAbsDiff(cond, expected) <= 1e-5);
                assertTrue(maxAbsDiff(cond, out) > 1e-3, "the class row must change the output");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> plain.forward(io.get("b2/sample"), io.get("b2/timestep"), m.create(new long[] {0, 1})));
                assertTrue(e.getMessage().contains("num_class_embeds"), e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> unet.forward(io.get("b2/sample"), io.get("b2/timestep"), null));
            assertTrue(e.getMessage().contains("class_labels"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> unet.forward(io.get("b2/sample"), io.get("b2/timestep"), m.create(new long[] {0, 4})));
            assertTrue(e.getMessage().contains("num_class_embeds"), e.getMessage());
        }
    }

    /** center_input_sample feeds 2x - 1. */
    @Test
    void centerInputSampleFeedsTwoXMinusOne() throws Exception {
        try (NDManager m = manager.newSubManager();
             UNet2DModel plain = UNet2DModel.fromPretrained(vectors("unet_a"), m);
             UNet2DModel centered = new UNet2DModel(plain.config().with("center_input_sample", true), m)) {
            centered.loadStateDict(plain.stateDict());
            NDArray x = m.randomUniform(0, 1, new Shape(1, 3, 16, 16));
            NDArray t = m.create(new long[] {500});
            assertTrue(maxAbsDiff(centered.forward(x, t, null), plain.forward(x.mul(2).sub(1), t, null)) <= 1e-6);
        }
    }

    /** DJL's own parameter stream (Block.saveParameters / loadParameters) round-trips too. */
    @Test
    void djlParameterStreamRoundTrips() throws Exception {
        try (NDManager m = manager.newSubManager();
             UNet2DModel a = UNet2DModel.fromPretrained(vectors("unet_a"), m);
             UNet2DModel b = new UNet2DModel(a.config(), m)) {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            a.saveParameters(new java.io.DataOutputStream(bytes));
            b.loadParameters(b.manager(), new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray())));
            NDArray x = m.randomNormal(new Shape(1, 3, 16, 16));
            NDArray t = m.create(new long[] {7});
            assertEquals(0.0, maxAbsDiff(a.forward(x, t, null), b.forward(x, t, null)));
        }
    }

    /** dropout acts only in training mode (diffusers: model.train()); at inference the model is unet_a. */
    @Test
    void dropoutOnlyInTraining() throws Exception {
        try (NDManager m = manager.newSubManager();
             UNet2DModel plain = UNet2DModel.fromPretrained(vectors("unet_a"), m);
             UNet2DModel dropping = new UNet2DModel(plain.config().with("dropout", 0.5), m)) {
            dropping.loadStateDict(plain.stateDict());
            NDArray x = m.randomNormal(new Shape(1, 3, 16, 16));
            NDArray t = m.create(new long[] {100});
            assertEquals(0.0, maxAbsDiff(dropping.forward(x, t, null, false), plain.forward(x, t, null)));
            assertTrue(maxAbsDiff(dropping.forward(x, t, null, true), plain.forward(x, t, null)) > 1e-3);
        }
    }

    @Test
    void wrongInputsFailClearly() throws Exception {
        try (NDManager m = manager.newSubManager(); UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_a"), m)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> unet.forward(m.zeros(new Shape(2, 4, 16, 16)), 1, null));
            assertTrue(e.getMessage().contains("in_channels = 3"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> unet.forward(m.zeros(new Shape(2, 3, 16, 16)), m.create(new long[] {1, 2, 3}), null));
            assertTrue(e.getMessage().contains("timesteps"), e.getMessage());
        }
    }
}
