package diffusionkit.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.models.NoisePredictor;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.schedulers.SchedulerConfig;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The pipeline's one denoising loop against the loops the course writes out by hand (the plain loop of notebook 1,
 * classifier-free guidance of notebook 2), step for step with the same generator: the loop adds nothing and drops
 * nothing. Also the hooks' order and the label errors.
 */
class DenoisingLoopTest {

    static NDManager manager;
    static UNet2DModel unet;
    static ClassConditionedUNet conditional;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager(Device.cpu());
        Engine.getInstance().setRandomSeed(11);
        unet = new UNet2DModel(UNet2DConfig.fromJson("""
                {"sample_size": 8, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                 "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 4}"""), manager);
        conditional = ClassConditionedUNet.builder().optNullClass(true).build(manager);
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static DDPMScheduler ddpm() {
        return new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.BETA_SCHEDULE, "squaredcos_cap_v2"));
    }

    /** The course's loop: x = randn; for t: ε = model(x, t, y); x = step(ε, t, x).prev_sample; x.clip(-1, 1). */
    static float[] courseLoop(NoisePredictor model, Scheduler s, Shape shape, long[] labels, int steps, long seed,
            float eta, double w) {
        try (NDManager m = manager.newSubManager()) {
            SeededNoise g = new SeededNoise(seed);
            s.setTimesteps(steps);
            NDArray x = g.randn(m, shape);
            NDArray y = labels == null ? null : m.create(labels);
            long[] nulls = new long[labels == null ? 0 : labels.length];
            Arrays.fill(nulls, w == 1 ? 0 : model.nullLabel());
            for (long t : s.timesteps()) {
                NDArray eps = model.forward(x, t, y);
                if (w != 1) { // ε_u + w (ε_c − ε_u), the two passes apart
                    NDArray uncond = model.forward(x, t, m.create(nulls));
                    eps = uncond.add(eps.sub(uncond).mul(w));
                }
                x = s instanceof DDIMScheduler d ? d.step(eps, t, x, eta, w != 1, g, null).prevSample()
                        : s.step(eps, t, x, g).prevSample();
            }
            return x.clip(-1f, 1f).toFloatArray();
        }
    }

    static float maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    @Test
    void thePlainLoopIsTheCoursesLoopBitForBit() {
        DiffusionPipeline pipe = new DiffusionPipeline(unet, ddpm()); // a view of the shared model: not closed
        try (PipelineOutput out = pipe.generate(3, 5, 42)) {
            float[] expected = courseLoop(unet, ddpm(), new Shape(3, 3, 8, 8), null, 5, 42, 0f, 1);
            assertArrayEquals(expected, out.images().toFloatArray(), "DDPM, 5 steps: the per-step noise too");
        }
        try (PipelineOutput out = pipe.generateDdim(2, 4, 0.5f, 7, null, null)) {
            float[] expected = courseLoop(unet, new DDIMScheduler(ddpm().config()), new Shape(2, 3, 8, 8), null, 4, 7, 0.5f, 1);
            assertArrayEquals(expected, out.images().toFloatArray(), "DDIM with eta 0.5");
        }
    }

    /** diffusers' own class-conditioned UNet ({@code num_class_embeds}): labels reach the model through the loop. */
    @Test
    void aClassEmbeddingUNetGetsItsLabels() {
        try (NDManager m = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(3);
            UNet2DModel withClasses = new UNet2DModel(UNet2DConfig.fromJson("""
                    {"sample_size": 8, "in_channels": 1, "out_channels": 1, "layers_per_block": 1,
                     "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "DownBlock2D"],
                     "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 4, "num_class_embeds": 3}"""), m);
            assertEquals(3, withClasses.numClasses());
            DiffusionPipeline pipe = new DiffusionPipeline(withClasses, ddpm());
            long[] y = {0, 2};
            try (PipelineOutput out = pipe.generate(Sampling.builder().optLabels(y).optSteps(3).optSeed(9).build());
                    PipelineOutput other = pipe.generate(Sampling.builder().optLabels(1, 1).optSteps(3).optSeed(9).build())) {
                assertArrayEquals(courseLoop(withClasses, ddpm(), new Shape(2, 1, 8, 8), y, 3, 9, 0f, 1),
                        out.images().toFloatArray());
                assertFalse(Arrays.equals(out.images().toFloatArray(), other.images().toFloatArray()),
                        "other labels, other samples from the same noise");
            }
        }
    }

    @Test
    void classifierFreeGuidanceIsTheMixOfTwoPasses() {
        long[] y = {3, 7};
        DiffusionPipeline pipe = new DiffusionPipeline(conditional, new DDIMScheduler(ddpm().config()));
        try (PipelineOutput out = pipe.generate(Sampling.builder().optLabels(y).optSteps(4).optSeed(5)
                .optGuide(NoiseGuide.classifierFree(3)).build())) {
            float[] expected = courseLoop(conditional, new DDIMScheduler(ddpm().config()), new Shape(2, 1, 28, 28), y, 4, 5, 0f, 3);
            float d = maxAbsDiff(expected, out.images().toFloatArray());
            assertTrue(d < 1e-4, "w = 3: one batch of 2N against two passes of N: max |diff| = " + d);
        }
        try (PipelineOutput out = pipe.generate(Sampling.builder().optLabels(y).optSteps(4).optSeed(5)
                .optGuide(NoiseGuide.classifierFree(1)).build())) {
            float[] expected = courseLoop(conditional, new DDIMScheduler(ddpm().config()), new Shape(2, 1, 28, 28), y, 4, 5, 0f, 1);
            assertArrayEquals(expected, out.images().toFloatArray(), "w = 1 is the conditional model, one pass");
        }
    }

    @Test
    void theGuideAndTheCallbackSeeEveryStepInOrder() {
        DiffusionPipeline pipe = new DiffusionPipeline(unet, ddpm());
        List<String> calls = new ArrayList<>();
        NoiseGuide zeroNoise = (step, x) -> {
            calls.add("guide " + step.index() + "/" + step.count() + " t=" + step.timestep());
            return new NoiseGuide.Prediction(x.zerosLike(), x);
        };
        StepCallback cb = (i, t, sample, x0) -> calls.add("callback " + i + " t=" + t);
        try (PipelineOutput out = pipe.generate(Sampling.builder().optScheduler(new DDIMScheduler(ddpm().config()))
                .optSteps(3).optBatchSize(1).optGuide(zeroNoise).optCallback(cb).build())) {
            assertEquals(List.of("guide 0/3 t=666", "callback 0 t=666", "guide 1/3 t=333", "callback 1 t=333",
                    "guide 2/3 t=0", "callback 2 t=0"), calls);
            // with ε̂ = 0, DDIM (η = 0) scales x by √(ᾱ_prev / ᾱ_t) at each step: the output is not the model's
            float[] plain;
            try (PipelineOutput p = pipe.generateDdim(1, 3, 0)) {
                plain = p.images().toFloatArray();
            }
            assertFalse(Arrays.equals(plain, out.images().toFloatArray()), "the guide's prediction is what is stepped with");
        }
    }

    @Test
    void labelsAreCheckedAgainstTheModel() {
        DiffusionPipeline plain = new DiffusionPipeline(unet, ddpm());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> plain.generate(Sampling.builder().optLabels(1, 2).optSteps(2).build()));
        assertTrue(e.getMessage().contains("unconditional"), e.getMessage());
        DiffusionPipeline cond = new DiffusionPipeline(conditional, ddpm());
        e = assertThrows(IllegalArgumentException.class, () -> cond.generate(Sampling.builder().optSteps(2).build()));
        assertTrue(e.getMessage().contains("class-conditioned") && e.getMessage().contains("optLabels"), e.getMessage());
        try (NDArray noise = manager.zeros(new Shape(3, 1, 28, 28))) {
            e = assertThrows(IllegalArgumentException.class, () -> cond.generate(Sampling.builder().optNoise(noise)
                    .optLabels(1, 2).optSteps(2).build()));
            assertTrue(e.getMessage().contains("2 class labels for 3 images"), e.getMessage());
        }
        assertEquals(new Shape(4, 1, 28, 28), cond.sampleShape(4), "the wrapper's images have no label channels");
    }

    /** The shipped class-conditioned model loads as a pipeline (its scheduler/ beside it) and samples its digits. */
    @Test
    void theShippedConditionalModelIsAPipeline() throws Exception {
        java.nio.file.Path folder = diffusionkit.data.KitHome.find().resolve("datasets/models/mnist-conditional");
        try (NDManager m = manager.newSubManager()) {
            DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(folder, m);
            assertTrue(pipe.unet() instanceof ClassConditionedUNet);
            assertEquals("squaredcos_cap_v2", pipe.scheduler().config().betaSchedule());
            try (PipelineOutput a = pipe.generateDdim(2, 5, 0f, 1, m.create(new long[] {4, 7}), null)) {
                float[] expected = courseLoop(pipe.unet(), pipe.ddimScheduler(), new Shape(2, 1, 28, 28), new long[] {4, 7},
                        5, 1, 0f, 1);
                assertArrayEquals(expected, a.images().toFloatArray());
            }
        }
    }
}
