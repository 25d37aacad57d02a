package diffusionkit.schedulers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import diffusionkit.util.SeededNoise;

import org.junit.jupiter.api.Test;

/**
 * Gradients flow through {@code step} (guidance differentiates through it) and equal the closed form
 * of the step's formulas with the model output held constant.
 */
class SchedulerGradientTest {

    private static final Shape SHAPE = new Shape(2, 3, 4, 4);

    private static void assertAllClose(float expected, NDArray actual, float tol, String what) {
        float[] a = actual.toFloatArray();
        for (float v : a) {
            assertEquals(expected, v, tol, what);
        }
    }

    @Test
    void ddimPredOriginalSampleGradientIsOneOverSqrtAlphaBar() {
        // epsilon prediction: x0 = (x - sqrt(1 - ab_t) * eps) / sqrt(ab_t), so d x0 / d x = 1 / sqrt(ab_t)
        DDIMScheduler s = DDIMScheduler.fromConfig(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.CLIP_SAMPLE, false));
        s.setTimesteps(50);
        long t = 500;
        double alphaBar = s.alphasCumprod()[(int) t];
        double alphaBarPrev = s.alphasCumprod()[480];
        SeededNoise g = new SeededNoise(7);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = g.randn(m, SHAPE);
            NDArray eps = g.randn(m, SHAPE);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                SchedulerOutput out = s.step(eps, t, x);
                gc.backward(out.predOriginalSample().sum());
            }
            assertAllClose((float) (1 / Math.sqrt(alphaBar)), x.getGradient(), 1e-5f, "d x0 / d x");

            // through prev_sample too: x_prev = sqrt(ab_prev) * x0 + sqrt(1 - ab_prev) * eps
            // (a fresh leaf: DJL accumulates gradients into x across collectors)
            NDArray x2 = x.duplicate();
            x2.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                SchedulerOutput out = s.step(eps, t, x2);
                gc.backward(out.prevSample().sum());
            }
            assertAllClose((float) (Math.sqrt(alphaBarPrev) / Math.sqrt(alphaBar)), x2.getGradient(), 1e-5f, "d x_prev / d x");
        }
    }

    @Test
    void ddimGradientWithRespectToModelOutput() {
        // d x0 / d eps = -sqrt(1 - ab_t) / sqrt(ab_t); with clipping, zero where x0 was clipped
        DDIMScheduler s = new DDIMScheduler();
        s.setTimesteps(50);
        long t = 500;
        double alphaBar = s.alphasCumprod()[(int) t];
        SeededNoise g = new SeededNoise(8);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = g.randn(m, SHAPE).mul(0.2f);
            NDArray eps = g.randn(m, SHAPE).mul(0.2f);
            eps.setRequiresGradient(true);
            NDArray x0;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                SchedulerOutput out = s.step(eps, t, x, 1f, new SeededNoise(9));
                x0 = out.predOriginalSample();
                gc.backward(x0.sum());
            }
            float[] grad = eps.getGradient().toFloatArray();
            float[] clipped = x0.toFloatArray();
            float expected = (float) (-Math.sqrt(1 - alphaBar) / Math.sqrt(alphaBar));
            int inside = 0;
            for (int i = 0; i < grad.length; i++) {
                if (Math.abs(clipped[i]) < 1f) {
                    assertEquals(expected, grad[i], 1e-4f);
                    inside++;
                } else {
                    assertEquals(0f, grad[i], 0f);
                }
            }
            assertTrue(inside > 0 && inside < grad.length, "test should see both clipped and unclipped values");
        }
    }

    @Test
    void ddpmPrevSampleGradientIsPosteriorMeanCoefficient() {
        // x_prev = c0 * x0 + c1 * x + sigma * z with x0 = (x - sqrt(1-ab) eps)/sqrt(ab):
        // d x_prev / d x = c0 / sqrt(ab_t) + c1
        DDPMScheduler s = new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.CLIP_SAMPLE, false));
        long t = 500;
        float[] ab = s.alphasCumprod();
        double abT = ab[500];
        double abPrev = ab[499];
        double betaT = 1 - abT / abPrev;
        double c0 = Math.sqrt(abPrev) * betaT / (1 - abT);
        double c1 = Math.sqrt(abT / abPrev) * (1 - abPrev) / (1 - abT);
        SeededNoise g = new SeededNoise(10);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = g.randn(m, SHAPE);
            NDArray eps = g.randn(m, SHAPE);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                SchedulerOutput out = s.step(eps, t, x, g);
                gc.backward(out.prevSample().sum());
            }
            assertAllClose((float) (c0 / Math.sqrt(abT) + c1), x.getGradient(), 1e-5f, "d x_prev / d x");
        }
    }
}
