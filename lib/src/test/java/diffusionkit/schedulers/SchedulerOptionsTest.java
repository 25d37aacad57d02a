package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The config switches the diffusers vectors do not exercise (they use linear/cosine betas, leading spacing without
 * offset, epsilon prediction), against diffusers' formulas written out here in double precision: timestep spacings
 * and {@code steps_offset}, {@code scaled_linear} and zero-SNR betas, v and sample prediction, {@code set_alpha_to_one},
 * {@code clip_sample_range}, {@code get_velocity}.
 */
class SchedulerOptionsTest {

    private static final Shape SHAPE = new Shape(2, 3, 4, 4);
    static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static SchedulerConfig ddim() {
        return SchedulerConfig.of(SchedulerConfig.DDIM).with(SchedulerConfig.CLIP_SAMPLE, false);
    }

    private static long[] timesteps(SchedulerConfig c, int steps) {
        Scheduler s = Scheduler.fromConfig(c);
        s.setTimesteps(steps);
        return s.timesteps();
    }

    @Test
    void timestepSpacingsAndOffsetAreDiffusersTables() {
        for (String cls : new String[] {SchedulerConfig.DDPM, SchedulerConfig.DDIM}) {
            SchedulerConfig b = SchedulerConfig.of(cls);
            // leading: (arange(0, 7) * (1000 // 7))[::-1] + steps_offset
            assertArrayEquals(new long[] {853, 711, 569, 427, 285, 143, 1},
                    timesteps(b.with(SchedulerConfig.TIMESTEP_SPACING, "leading")
                            .with(SchedulerConfig.STEPS_OFFSET, 1), 7), cls);
            // trailing: round(arange(1000, 0, -1000 / 7)) - 1
            assertArrayEquals(new long[] {999, 856, 713, 570, 428, 285, 142},
                    timesteps(b.with(SchedulerConfig.TIMESTEP_SPACING, "trailing")
                            .with(SchedulerConfig.STEPS_OFFSET, 0), 7), cls);
            // linspace: linspace(0, 999, 7).round()[::-1]; numpy rounds halves to even (166.5 -> 166, 499.5 -> 500)
            assertArrayEquals(new long[] {999, 832, 666, 500, 333, 166, 0},
                    timesteps(b.with(SchedulerConfig.TIMESTEP_SPACING, "linspace"), 7), cls);
        }
    }

    @Test
    void scaledLinearBetasAreTheSquaredLinspaceOfRoots() {
        SchedulerConfig c = ddim().with(SchedulerConfig.BETA_SCHEDULE, "scaled_linear")
                .with(SchedulerConfig.BETA_START, 0.00085).with(SchedulerConfig.BETA_END, 0.012);
        float[] betas = Scheduler.fromConfig(c).betas();
        float[] cumprod = Scheduler.fromConfig(c).alphasCumprod();
        double a = Math.sqrt(0.00085);
        double b = Math.sqrt(0.012);
        double prod = 1;
        for (int i = 0; i < 1000; i++) {
            double r = a + (b - a) * i / 999;
            assertEquals(r * r, betas[i], 1e-8, "beta " + i);
            prod *= 1 - r * r;
            assertEquals(prod, cumprod[i], 1e-5, "alphas_cumprod " + i);
        }
    }

    @Test
    void zeroSnrRescalingEndsAtAlphaBarZeroAndKeepsTheFirst() {
        SchedulerConfig plain = ddim();
        SchedulerConfig rescaled = ddim().with(SchedulerConfig.RESCALE_BETAS_ZERO_SNR, true);
        float[] before = Scheduler.fromConfig(plain).alphasCumprod();
        float[] after = Scheduler.fromConfig(rescaled).alphasCumprod();
        // sqrt(abar) is shifted so its last value is 0 and scaled so its first is unchanged (Lin et al. 2023, alg. 1)
        double s0 = Math.sqrt(before[0]);
        double sT = Math.sqrt(before[999]);
        for (int i = 0; i < 1000; i += 37) {
            double s = (Math.sqrt(before[i]) - sT) * s0 / (s0 - sT);
            assertEquals(s * s, after[i], 2e-5, "alphas_cumprod " + i);
        }
        assertEquals(before[0], after[0], 1e-6);
        assertEquals(0.0, after[999], 1e-7);
        assertEquals(1.0, Scheduler.fromConfig(rescaled).betas()[999], 1e-6);
    }

    /** One DDIM step (eta 0) in double: x0 and eps from the prediction type, then sqrt(ab')·x0 + sqrt(1-ab')·eps. */
    private static double[][] ddimByHand(String prediction, float[] x, float[] out, double ab, double abPrev) {
        double[] x0 = new double[x.length];
        double[] prev = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double eps;
            switch (prediction) {
                case "v_prediction" -> {
                    x0[i] = Math.sqrt(ab) * x[i] - Math.sqrt(1 - ab) * out[i];
                    eps = Math.sqrt(ab) * out[i] + Math.sqrt(1 - ab) * x[i];
                }
                case "sample" -> {
                    x0[i] = out[i];
                    eps = (x[i] - Math.sqrt(ab) * x0[i]) / Math.sqrt(1 - ab);
                }
                default -> {
                    eps = out[i];
                    x0[i] = (x[i] - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
                }
            }
            prev[i] = Math.sqrt(abPrev) * x0[i] + Math.sqrt(1 - abPrev) * eps;
        }
        return new double[][] {prev, x0};
    }

    private static void assertClose(double[] expected, NDArray actual, double tol, String what) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length);
        for (int i = 0; i < a.length; i++) {
            assertEquals(expected[i], a[i], tol, what + " [" + i + "]");
        }
    }

    @Test
    void ddimVAndSamplePredictionFollowTheirFormulas() {
        for (String prediction : new String[] {"v_prediction", "sample", "epsilon"}) {
            DDIMScheduler s = new DDIMScheduler(ddim().with(SchedulerConfig.PREDICTION_TYPE, prediction));
            s.setTimesteps(10);
            float[] ab = s.alphasCumprod();
            try (NDManager m = manager.newSubManager()) {
                SeededNoise g = new SeededNoise(3);
                NDArray x = g.randn(m, SHAPE);
                NDArray out = g.randn(m, SHAPE);
                SchedulerOutput o = s.step(out, 600, x, 0f);
                double[][] hand = ddimByHand(prediction, x.toFloatArray(), out.toFloatArray(), ab[600], ab[500]);
                assertClose(hand[1], o.predOriginalSample(), 1e-5, prediction + " x0");
                assertClose(hand[0], o.prevSample(), 1e-5, prediction + " prev_sample");
            }
        }
    }

    @Test
    void setAlphaToOneDecidesTheLastStepsTarget() {
        for (boolean toOne : new boolean[] {true, false}) {
            DDIMScheduler s = new DDIMScheduler(ddim().with(SchedulerConfig.SET_ALPHA_TO_ONE, toOne));
            s.setTimesteps(10);
            float[] ab = s.alphasCumprod();
            try (NDManager m = manager.newSubManager()) {
                SeededNoise g = new SeededNoise(4);
                NDArray x = g.randn(m, SHAPE);
                NDArray eps = g.randn(m, SHAPE);
                // the last step (t = 0, previous timestep -100) targets final_alpha_cumprod: 1, or alphas_cumprod[0]
                double abPrev = toOne ? 1.0 : ab[0];
                double[][] hand = ddimByHand("epsilon", x.toFloatArray(), eps.toFloatArray(), ab[0], abPrev);
                assertClose(hand[0], s.step(eps, 0, x, 0f).prevSample(), 1e-5, "set_alpha_to_one=" + toOne);
            }
        }
    }

    @Test
    void ddpmVPredictionAndClipSampleRange() {
        DDPMScheduler s = new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.PREDICTION_TYPE, "v_prediction").with(SchedulerConfig.CLIP_SAMPLE, true)
                .with(SchedulerConfig.CLIP_SAMPLE_RANGE, 0.5));
        s.setTimesteps(10);
        float[] ab = s.alphasCumprod();
        double a = ab[600];
        double aPrev = ab[500];
        double alpha = a / aPrev;
        try (NDManager m = manager.newSubManager()) {
            SeededNoise g = new SeededNoise(5);
            NDArray x = g.randn(m, SHAPE).mul(3);
            NDArray v = g.randn(m, SHAPE);
            NDArray zero = m.zeros(SHAPE);
            SchedulerOutput o = s.step(v, 600, x, zero);
            float[] xs = x.toFloatArray();
            float[] vs = v.toFloatArray();
            double[] x0 = new double[xs.length];
            double[] mean = new double[xs.length];
            int clipped = 0;
            for (int i = 0; i < xs.length; i++) {
                double raw = Math.sqrt(a) * xs[i] - Math.sqrt(1 - a) * vs[i];
                x0[i] = Math.max(-0.5, Math.min(0.5, raw));
                clipped += Math.abs(raw) > 0.5 ? 1 : 0;
                // posterior mean (DDPM eq. 7)
                mean[i] = Math.sqrt(aPrev) * (1 - alpha) / (1 - a) * x0[i] + Math.sqrt(alpha) * (1 - aPrev) / (1 - a) * xs[i];
            }
            assertTrue(clipped > xs.length / 4, "the range is exercised: " + clipped + " of " + xs.length + " clipped");
            assertClose(x0, o.predOriginalSample(), 1e-5, "x0 clipped to [-0.5, 0.5]");
            assertClose(mean, o.prevSample(), 1e-5, "prev_sample with zero variance noise");
        }
    }

    @Test
    void velocityIsSqrtAlphaBarNoiseMinusSqrtOneMinusAlphaBarSample() {
        DDPMScheduler s = new DDPMScheduler();
        float[] ab = s.alphasCumprod();
        try (NDManager m = manager.newSubManager()) {
            SeededNoise g = new SeededNoise(6);
            NDArray x = g.randn(m, SHAPE);
            NDArray noise = g.randn(m, SHAPE);
            NDArray t = m.create(new long[] {10, 900});
            float[] xs = x.toFloatArray();
            float[] ns = noise.toFloatArray();
            double[] v = new double[xs.length];
            int per = xs.length / 2;
            for (int i = 0; i < xs.length; i++) {
                double a = ab[i < per ? 10 : 900];
                v[i] = Math.sqrt(a) * ns[i] - Math.sqrt(1 - a) * xs[i];
            }
            assertClose(v, s.getVelocity(x, noise, t), 1e-6, "velocity");
            assertArrayEquals(xs, s.scaleModelInput(x, 500).toFloatArray(), 0f, "DDPM/DDIM do not scale the input");
        }
    }
}
