package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.models.UNet2DModel;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.SchedulerConfig;
import diffusionkit.util.NativeMemory;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Guided DDIM sampling on the tiny 16x16 test UNet (random diffusers initialisation). */
class GuidedSamplerTest {

    static final Path UNET_A = Path.of("src/test/resources/vectors/unet_a");
    static NDManager manager;
    static UNet2DModel unet;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DModel.fromPretrained(UNET_A, manager);
    }

    @AfterAll
    static void close() {
        unet.close();
        manager.close();
    }

    /** DDIM with diffusers' defaults except clip_sample = false (so x̂_0 is the plain formula). */
    static DDIMScheduler ddim() {
        return new DDIMScheduler(SchedulerConfig.of(SchedulerConfig.DDIM).with(SchedulerConfig.CLIP_SAMPLE, false));
    }

    static GuidedSampler.Builder sampler(GuidanceLoss loss, double scale) {
        return GuidedSampler.builder().setModel(unet).setScheduler(ddim()).setLoss(loss).optGuidanceScale(scale);
    }

    /** Mean over the batch of the L2 distance between each sample's mean colour (in [0, 1]) and the target. */
    static double colourDistance(NDArray images, float[] target) {
        long b = images.getShape().get(0);
        NDArray mean = images.add(1).div(2).reshape(b, 3, -1).mean(new int[] {2});    // [B, 3]
        NDArray t = images.getManager().create(target).reshape(1, 3);
        return mean.sub(t).square().sum(new int[] {1}).sqrt().mean().getFloat();
    }

    /**
     * The course's scale 40 is for 8 images of 256x256 (N = 1.6M elements; the loss is a mean, so each element's
     * gradient is scale/N). At 2 images of 16x16 (N = 1536) the same per-element strength is a scale of about 0.04.
     * Variant 1 gets scale 1 here (with 6 DDIM steps the first steps overshoot from about 3 on: its gradient carries
     * 1/√ᾱ_t, 50 at t = 875). Variant 2's gradient carries the model's own sensitivity d x̂_0/dx instead, which for
     * the mean colour is about 1.8 at t = 875 (see {@link GaussianImageModel}), so it needs a larger scale: 100.
     */
    @Test
    void colourGuidanceBothVariantsPullTheMeanColourToTheTarget() {
        ColorLoss loss = ColorLoss.course();
        int batch = 2;
        int steps = 6;
        long seed = 1;
        double unguided;
        GaussianImageModel model = new GaussianImageModel(unet, ddim().alphasCumprod());
        try (GuidedOutput u = sampler(loss, 0).setModel(model).optImageShape(3, 16, 16).build().sample(batch, steps, seed)) {
            unguided = colourDistance(u.images(), loss.target());
        }
        for (GuidanceVariant variant : GuidanceVariant.values()) {
            double scale = variant == GuidanceVariant.X0_ONLY ? 1 : 100;
            // a garbage collection between the forward pass and the backward pass (here: inside the loss, after the
            // model ran) frees what DJL's Number arithmetic left to autograd, and poisons it: gradients then turn NaN
            GuidanceLoss collecting = x0 -> {
                NativeMemory.collectAndPoison();
                return loss.loss(x0);
            };
            try (GuidedOutput g = sampler(collecting, scale).setModel(model).optImageShape(3, 16, 16).optVariant(variant).build()
                    .sample(batch, steps, seed)) {
                double guided = colourDistance(g.images(), loss.target());
                System.out.printf("%s: mean colour distance to target: guided %.4f, unguided %.4f%n", variant, guided,
                        unguided);
                assertTrue(guided < 0.5 * unguided, variant + ": guided " + guided + " vs unguided " + unguided);
                double[] l = g.losses();
                assertTrue(l[l.length - 1] < 0.6 * l[0], variant + ": loss along sampling " + java.util.Arrays.toString(l));
            }
        }
    }

    @Test
    void scaleZeroIsPlainDdimFromTheSameNoise() {
        DiffusionPipeline pipe = new DiffusionPipeline(unet, ddim());
        try (GuidedOutput g = GuidedSampler.builder().setPipeline(pipe).setLoss(ColorLoss.course())
                        .optGuidanceScale(0).build().sample(2, 5, 7);
                PipelineOutput p = pipe.generateDdim(2, 5, 7)) {
            assertArrayEquals(p.images().toFloatArray(), g.images().toFloatArray(), 1e-5f);
            assertEquals(5, g.steps().size());
            assertEquals(0.0, g.steps().get(0).gradNorm(), 0.0);
        }
    }

    @Test
    void variant1GradientIsTheClosedForm() {
        // x̂_0 = (x − √(1−ᾱ_t)·ε̂)/√ᾱ_t with ε̂ constant, so d(s·L(x̂_0))/dx = s/√ᾱ_t · dL/dx̂_0, and for the colour
        // loss dL/dx̂_0 = sign(x̂_0 − target)/N (N = number of elements).
        double scale = 40;
        GuidedSampler s = sampler(ColorLoss.course(), scale).build();
        s.scheduler().setTimesteps(10);
        long t = s.scheduler().timesteps()[3];
        float alphaBar = s.scheduler().alphasCumprod()[(int) t];
        try (NDManager m = manager.newSubManager()) {
            NDArray x = new SeededNoise(5).randn(m, new Shape(2, 3, 16, 16));
            GuidedSampler.GuidanceGradient g = s.gradient(x, t);
            NDArray eps = unet.forward(x, t, null);
            NDArray x0 = x.sub(eps.mul(Math.sqrt(1 - alphaBar))).div(Math.sqrt(alphaBar));
            assertArrayEquals(x0.toFloatArray(), g.predOriginalSample().toFloatArray(), 1e-5f);
            NDArray target = m.create(new float[] {-0.8f, 0.8f, 0f}, new Shape(1, 3, 1, 1));
            NDArray expected = x0.sub(target).sign().div(x0.size()).mul(scale / Math.sqrt(alphaBar));
            float max = expected.abs().max().getFloat();
            assertTrue(max > 0);
            assertArrayEquals(expected.toFloatArray(), g.gradient().toFloatArray(), 1e-6f * max);
            assertFalse(x.hasGradient(), "x itself must not be turned into a leaf");
        }
    }

    @Test
    void variant2GradientMatchesCentralDifferences() {
        // A smooth loss (linear in x̂_0: L = Σ w ⊙ x̂_0) so that the finite differences see only the UNet's
        // curvature, not the kink of |·|. Its variant-1 gradient is w/√ᾱ_t; variant 2 adds −√(1−ᾱ_t)/√ᾱ_t · Jεᵀw.
        try (NDManager m = manager.newSubManager()) {
            NDArray w = new SeededNoise(11).randn(m, new Shape(1, 3, 16, 16));
            GuidanceLoss linear = x0 -> x0.mul(w).sum();
            GuidedSampler v2 = sampler(linear, 1).optVariant(GuidanceVariant.THROUGH_UNET).build();
            GuidedSampler v1 = sampler(linear, 1).optVariant(GuidanceVariant.X0_ONLY).build();
            v2.scheduler().setTimesteps(10);
            v1.scheduler().setTimesteps(10);
            long t = 501;
            NDArray x = new SeededNoise(12).randn(m, new Shape(1, 3, 16, 16));
            float[] g2 = v2.gradient(x, t).gradient().toFloatArray();
            float[] g1 = v1.gradient(x, t).gradient().toFloatArray();
            float[] xs = x.toFloatArray();
            // h = 1e-2: the loss is a sum of 768 terms of size ~3, so float32 rounding of L is ~1e-4 and the
            // central difference carries ~1e-4 / (2h) = 5e-3 of noise; the truncation error h²/6·L''' of the smooth
            // UNet is far below that. Tolerance 2e-2 absolute, against gradients of size ~1.
            double h = 1e-2;
            int[] coords = {17, 300, 511, 767};
            double maxDiffV1 = 0;
            for (int k : coords) {
                float[] plus = xs.clone();
                float[] minus = xs.clone();
                plus[k] += (float) h;
                minus[k] -= (float) h;
                double lp = lossAt(v2, m, plus, t, linear);
                double lm = lossAt(v2, m, minus, t, linear);
                double fd = (lp - lm) / (2 * h);
                assertEquals(fd, g2[k], 2e-2, "coordinate " + k + ": central difference " + fd + " vs variant 2 " + g2[k]);
                maxDiffV1 = Math.max(maxDiffV1, Math.abs(fd - g1[k]));
            }
            // the check means something: variant 1 (no UNet term) is off by far more than the tolerance
            System.out.printf("variant 2 vs central differences ok; variant 1 is off by up to %.4f%n", maxDiffV1);
            assertTrue(maxDiffV1 > 0.1, "the UNet term is too small to tell the variants apart: " + maxDiffV1);
        }
    }

    static double lossAt(GuidedSampler s, NDManager m, float[] xs, long t, GuidanceLoss loss) {
        try (NDManager sub = m.newSubManager()) {
            NDArray x = sub.create(xs, new Shape(1, 3, 16, 16));
            NDArray eps = unet.forward(x, t, null);
            return loss.loss(s.scheduler().step(eps, t, x).predOriginalSample()).getFloat();
        }
    }

    @Test
    void scheduleFactorUsesTheTimestepOrTheCoursesLoopIndex() {
        GuidedSampler kit = sampler(ColorLoss.course(), 1).optScheduleFactor(ScheduleFactor.SQRT_ALPHA_BAR).build();
        GuidedSampler course = sampler(ColorLoss.course(), 1).optScheduleFactor(ScheduleFactor.SQRT_ALPHA_BAR)
                .optCourseIndexing(true).build();
        float[] ac = kit.scheduler().alphasCumprod();
        assertEquals(Math.sqrt(ac[901]), kit.factorAt(1, 901), 1e-12);
        assertEquals(Math.sqrt(ac[1]), course.factorAt(1, 901), 1e-12);
        assertEquals(1.0, ScheduleFactor.NONE.apply(0.3), 0);
        assertEquals(0.3, ScheduleFactor.ALPHA_BAR.apply(0.3), 1e-15);
        assertEquals(Math.sqrt(0.7), ScheduleFactor.SQRT_ONE_MINUS_ALPHA_BAR.apply(0.3), 1e-15);
    }

    @Test
    void perSampleNormClippingAndValueClamping() {
        GuidedSampler s = sampler(ColorLoss.course(), 1).optClipGradNorm(0.5).build();
        GuidedSampler v = sampler(ColorLoss.course(), 1).optClipGradValue(0.1).build();
        try (NDManager m = manager.newSubManager()) {
            NDArray g = m.create(new float[] {3, 4, 0.03f, 0.04f}, new Shape(2, 2, 1, 1));
            // sample 1 has norm 5 -> scaled to 0.5; sample 2 has norm 0.05 -> unchanged
            assertArrayEquals(new float[] {0.3f, 0.4f, 0.03f, 0.04f}, s.clip(g).toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0.1f, 0.1f, 0.03f, 0.04f}, v.clip(g).toFloatArray(), 1e-7f);
        }
    }

    @Test
    void listenerPrintAndCallbackSeeEveryStep() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<GuidanceStep> seen = new ArrayList<>();
        List<Long> callbackTimesteps = new ArrayList<>();
        try (GuidedOutput o = sampler(ColorLoss.course(), 40).optPrint(new PrintStream(bytes, true, StandardCharsets.UTF_8), 2)
                .optListener(seen::add).optStepCallback((i, t, x, x0) -> callbackTimesteps.add(t)).build()
                .sample(1, 5, 3)) {
            assertEquals(5, seen.size());
            assertEquals(o.steps(), seen);
            assertEquals(List.of(800L, 600L, 400L, 200L, 0L), callbackTimesteps);
            String[] lines = bytes.toString(StandardCharsets.UTF_8).strip().split("\\R");
            assertEquals(3, lines.length);                                     // steps 0, 2, 4
            assertTrue(lines[1].startsWith("2 loss: "), lines[1]);
            assertEquals(seen.get(2).loss() * 40, Double.parseDouble(lines[1].substring(8)), 1e-4 * seen.get(2).scaledLoss());
            assertEquals(16 + 2 * 2, o.grid().getWidth());
        }
    }

    @Test
    void theLoopLeavesNoArraysBehind() {
        sampler(ColorLoss.course(), 40).optVariant(GuidanceVariant.THROUGH_UNET).build().sample(1, 2, 0).close();
        int before = manager.getManagedArrays().size();
        try (GuidedOutput o = sampler(ColorLoss.course(), 40).optVariant(GuidanceVariant.THROUGH_UNET).build()
                .sample(1, 3, 0)) {
            assertNotNull(o.images());
        }
        assertEquals(before, manager.getManagedArrays().size());
        for (NDArray p : unet.stateDict().values()) {
            assertTrue(p.hasGradient(), "variant 2 must give the UNet parameters their requires-grad flag back");
        }
    }

    @Test
    void missingPiecesAreNamed() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GuidedSampler.builder().setLoss(ColorLoss.course()).build());
        assertTrue(e.getMessage().contains("setPipeline"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> GuidedSampler.builder().setModel(unet).setScheduler(ddim()).build());
        assertTrue(e.getMessage().contains("setLoss"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GuidedSampler.builder().optGuidanceScale(-1));
    }
}
