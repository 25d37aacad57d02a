package diffusionkit.models;

import diffusionkit.conditional.ConditionalSampler;
import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import diffusionkit.pipelines.ClassifierFreeGuidance;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ClassConditionedUNet against the diffusers reference of the course's wrapper, plus errors, save/load and CFG. */
class ClassConditionedUNetTest {

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager(Device.cpu());
        Engine.getInstance().setRandomSeed(7);
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static double maxAbsDiff(NDArray a, NDArray b) {
        return UNet2DModelVectorsTest.maxAbsDiff(a, b);
    }

    /** The course's model with unet_b's weights and the reference embedding table. */
    static ClassConditionedUNet courseModelWithReferenceWeights(NDManager m, Map<String, NDArray> io) throws Exception {
        ClassConditionedUNet model = ClassConditionedUNet.course(m);
        try (NDManager cpu = m.newSubManager(); UNet2DModel unet = UNet2DModel.fromPretrained(UNet2DModelVectorsTest.vectors("unet_b"), cpu)) {
            Map<String, NDArray> sd = new LinkedHashMap<>();
            sd.put("class_emb.weight", io.get("class_emb.weight"));
            unet.stateDict().forEach((k, v) -> sd.put("model." + k, v));
            model.loadStateDict(sd);
        }
        return model;
    }

    @Test
    void courseWrapperMatchesDiffusers() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> io = Safetensors.read(UNet2DModelVectorsTest.vectors("unet_b/course_wrapper_io.safetensors"), m);
            try (ClassConditionedUNet model = courseModelWithReferenceWeights(m, io)) {
                assertEquals(ClassConditionedUNet.courseUNetConfig(4), model.unet().config());
                NDArray out = model.forward(io.get("x"), io.get("timestep"), io.get("class_labels"), false);
                double diff = maxAbsDiff(out, io.get("out_sample"));
                assertTrue(diff <= 1e-4, "max |out - diffusers| = " + diff);
            }
        }
    }

    @Test
    void courseUNetConfigIsTheNotebooks() throws Exception {
        var ref = diffusionkit.models.UNet2DConfig.load(UNet2DModelVectorsTest.vectors("unet_b"));
        var mine = ClassConditionedUNet.courseUNetConfig(4);
        for (var f : UNet2DConfig.defaults().fields()) {
            assertEquals(ref.get(f.key()), mine.get(f.key()), f.key());
        }
    }

    @Test
    void embeddingTakesGradientsOnlyOnTheRowsUsed() {
        try (NDManager m = manager.newSubManager(); ClassConditionedUNet model = ClassConditionedUNet.course(m)) {
            NDArray x = new SeededNoise(1).randn(m, new Shape(2, 1, 28, 28));
            NDArray t = m.create(new long[] {10, 500});
            NDArray y = m.create(new long[] {3, 7});
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(model.forward(x, t, y, true).square().mean());
            }
            float[] g = model.classEmbWeight().getGradient().toFloatArray(); // [10, 4]
            for (int row = 0; row < 10; row++) {
                double norm = 0;
                for (int c = 0; c < 4; c++) {
                    norm += Math.abs(g[row * 4 + c]);
                }
                if (row == 3 || row == 7) {
                    assertTrue(norm > 0, "row " + row + " got no gradient");
                } else {
                    assertEquals(0, norm, 0, "row " + row + " is unused but got a gradient");
                }
            }
            diffusionkit.training.AdamW.zeroGradients(model.stateDict());
        }
    }

    @Test
    void badLabelsGiveClearErrors() {
        try (NDManager m = manager.newSubManager(); ClassConditionedUNet model = ClassConditionedUNet.course(m)) {
            NDArray x = m.zeros(new Shape(2, 1, 28, 28));
            NDArray t = m.create(new long[] {1, 2});
            var e1 = assertThrows(IllegalArgumentException.class, () -> model.forward(x, t, m.create(new long[] {3, 10}), false));
            assertTrue(e1.getMessage().contains("class label 10 is outside [0, 10)"), e1.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> model.forward(x, t, m.create(new long[] {-1, 0}), false));
            assertTrue(e2.getMessage().contains("class label -1"), e2.getMessage());
            var e3 = assertThrows(IllegalArgumentException.class, () -> model.forward(x, t, m.create(new long[] {1, 2, 3}), false));
            assertTrue(e3.getMessage().contains("must be [2]"), e3.getMessage());
            var e4 = assertThrows(IllegalArgumentException.class, () -> model.forward(x, t, m.create(new float[] {1, 2}), false));
            assertTrue(e4.getMessage().contains("integer"), e4.getMessage());
            var e5 = assertThrows(IllegalArgumentException.class, () -> model.forward(x, t, null, false));
            assertTrue(e5.getMessage().contains("required"), e5.getMessage());
            var e6 = assertThrows(IllegalStateException.class, model::nullLabel);
            assertTrue(e6.getMessage().contains("optNullClass"), e6.getMessage());
        }
    }

    @Test
    void saveLoadRoundTripGivesIdenticalOutputs(@TempDir Path tmp) throws Exception {
        for (ClassConditionedUNet.Mode mode : ClassConditionedUNet.Mode.values()) {
            try (NDManager m = manager.newSubManager();
                    ClassConditionedUNet model = ClassConditionedUNet.builder().optMode(mode).optNullClass(true).build(m)) {
                Path folder = tmp.resolve(mode.id());
                model.savePretrained(folder);
                assertTrue(Files.isRegularFile(folder.resolve("class_conditioned.json")));
                assertTrue(Files.isRegularFile(folder.resolve("unet/config.json")));
                assertEquals(mode == ClassConditionedUNet.Mode.CONCAT, Files.isRegularFile(folder.resolve("class_emb.safetensors")));
                NDArray x = new SeededNoise(2).randn(m, new Shape(3, 1, 28, 28));
                NDArray t = m.create(new long[] {0, 400, 998});
                NDArray y = m.create(new long[] {0, 9, 10});
                try (ClassConditionedUNet back = ClassConditionedUNet.fromPretrained(folder, m)) {
                    assertEquals(mode, back.mode());
                    assertTrue(back.hasNullClass());
                    assertEquals(model.stateDict().keySet(), back.stateDict().keySet());
                    float[] a = model.forward(x, t, y, false).toFloatArray();
                    float[] b = back.forward(x, t, y, false).toFloatArray();
                    assertArrayEquals(a, b, mode.id());
                }
            }
        }
    }

    @Test
    void classEmbeddingModeUsesDiffusersNumClassEmbeds() {
        try (NDManager m = manager.newSubManager();
                ClassConditionedUNet model = ClassConditionedUNet.builder().optMode(ClassConditionedUNet.Mode.CLASS_EMBEDDING)
                        .optNullClass(true).build(m)) {
            assertEquals(11, model.unet().config().numClassEmbeds());
            assertEquals(1, model.unet().config().inChannels());
            assertTrue(model.stateDict().containsKey("model.class_embedding.weight"));
            NDArray x = m.zeros(new Shape(2, 1, 28, 28));
            NDArray t = m.create(new long[] {100, 100});
            float[] out = model.forward(x, t, m.create(new long[] {1, 2}), false).toFloatArray();
            int half = out.length / 2;
            boolean differ = false;
            for (int i = 0; i < half; i++) {
                differ |= out[i] != out[half + i];
            }
            assertTrue(differ, "the label must change the output");
        }
    }

    @Test
    void wrongKindOfFolderGivesClearErrors() {
        var plain = assertThrows(CheckpointException.class,
                () -> ClassConditionedUNet.fromPretrained(UNet2DModelVectorsTest.vectors("unet_b"), manager));
        assertTrue(plain.getMessage().contains("not a ClassConditionedUNet folder")
                && plain.getMessage().contains("UNet2DModel"), plain.getMessage());
        var clip = assertThrows(CheckpointException.class,
                () -> ClassConditionedUNet.fromPretrained(UNet2DModelVectorsTest.vectors("clip/clip_tiny"), manager));
        assertTrue(clip.getMessage().contains("CLIP"), clip.getMessage());
    }

    @Test
    void guidanceScaleZeroIsUnconditionalAndOneIsConditional() {
        try (NDManager m = manager.newSubManager();
                ClassConditionedUNet model = ClassConditionedUNet.builder().optNullClass(true).build(m)) {
            NDArray x = new SeededNoise(3).randn(m, new Shape(2, 1, 28, 28));
            NDArray y = m.create(new long[] {4, 8});
            NDArray nulls = m.create(new long[] {10, 10});
            long t = 321;
            NDArray cond = model.forward(x, t, y);
            NDArray uncond = model.forward(x, t, nulls);
            double d0 = maxAbsDiff(ClassifierFreeGuidance.guidedNoise(model, x, t, y, 0), uncond);
            assertTrue(d0 < 1e-5, "w = 0: max |guided - unconditional| = " + d0);
            double d1 = maxAbsDiff(ClassifierFreeGuidance.guidedNoise(model, x, t, y, 1), cond);
            assertTrue(d1 < 1e-5, "w = 1: max |guided - conditional| = " + d1);
            // w = 3: eps_u + 3 (eps_c - eps_u)
            NDArray expected = uncond.add(cond.sub(uncond).mul(3f));
            double d3 = maxAbsDiff(ClassifierFreeGuidance.guidedNoise(model, x, t, y, 3), expected);
            assertTrue(d3 < 1e-4, "w = 3: max |guided - closed form| = " + d3);
        }
    }

    @Test
    void samplingIsSeededClippedAndWorksWithDdpmAndDdim() {
        try (NDManager m = manager.newSubManager();
                ClassConditionedUNet model = ClassConditionedUNet.builder().optNullClass(true).build(m)) {
            long[] y = {2, 5};
            var ddpm = ClassConditionedUNet.courseScheduler();
            NDArray a = ConditionalSampler.sample(model, ddpm, y, 3, 42, 1.0, m);
            NDArray b = ConditionalSampler.sample(model, ddpm, y, 3, 42, 1.0, m);
            assertEquals(new Shape(2, 1, 28, 28), a.getShape());
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            NDArray c = ConditionalSampler.sample(model, ConditionalSampler.ddim(ddpm), y, 3, 42, 2.5, m);
            for (float v : c.toFloatArray()) {
                assertTrue(v >= -1 && v <= 1, "samples are clipped to [-1, 1] as the course shows them");
            }
            assertEquals("DDIMScheduler", ConditionalSampler.ddim(ddpm).config().className());
            assertEquals("squaredcos_cap_v2", ConditionalSampler.ddim(ddpm).config().get("beta_schedule").getAsString());
        }
    }

    @Test
    void courseLabelsAreEightOfEachDigit() {
        long[] y = ConditionalSampler.courseLabels();
        assertEquals(80, y.length);
        for (int i = 0; i < 80; i++) {
            assertEquals(i / 8, y[i]); // torch.tensor([[i]*8 for i in range(10)]).flatten()
        }
    }
}
