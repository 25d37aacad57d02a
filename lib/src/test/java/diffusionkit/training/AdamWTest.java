package diffusionkit.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** AdamW against torch.optim.AdamW's algorithm evaluated in double precision here. */
class AdamWTest {

    /** Sets the gradient of p to c by back-propagating sum(p * c). */
    static void backward(NDArray p, float[] c) {
        try (NDManager scope = p.getManager().newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            p.tempAttach(scope); // the loss's arrays land in the scope and go with it
            NDArray loss = p.mul(scope.create(c)).sum();
            gc.backward(loss);
        }
    }

    @Test
    void twoStepsFollowTorchAdamW() {
        double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        double[] p = {1.0, -2.0, 0.5};
        double[][] grads = {{0.3, -1.0, 2.0}, {-0.5, 0.25, 1.0}};
        double[] m = new double[3], v = new double[3];
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray w = mgr.create(new float[] {1.0f, -2.0f, 0.5f});
            w.setRequiresGradient(true);
            Map<String, NDArray> params = new LinkedHashMap<>(Map.of("w", w));
            AdamW opt = AdamW.builder().optLearningRate(lr).optDevice(w.getDevice()).build();
            for (int t = 1; t <= 2; t++) {
                float[] g = new float[3];
                for (int i = 0; i < 3; i++) {
                    g[i] = (float) grads[t - 1][i];
                }
                AdamW.zeroGradients(params);
                backward(w, g);
                opt.step(params);
                for (int i = 0; i < 3; i++) {
                    p[i] *= 1 - lr * wd;
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
                    p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
                }
            }
            float[] got = w.toFloatArray();
            for (int i = 0; i < 3; i++) {
                assertEquals(p[i], got[i], 1e-6);
            }
            assertEquals(2, opt.stepCount());
        }
    }

    /** A training run of many steps must not keep a single extra array per step (memory would grow without bound). */
    @Test
    void stepsLeaveNoArraysBehind() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDManager params = mgr.newSubManager();
            NDArray w = params.create(new float[] {1, 2, 3});
            NDArray b = params.create(new float[] {0.5f});
            w.setRequiresGradient(true);
            b.setRequiresGradient(true);
            Map<String, NDArray> p = new LinkedHashMap<>();
            p.put("w", w);
            p.put("b", b);
            AdamW opt = AdamW.builder().optDevice(w.getDevice()).build();
            int[] counts = new int[3];
            for (int step = 0; step < 3; step++) {
                AdamW.zeroGradients(p);
                backward(w, new float[] {1, -1, 2});
                backward(b, new float[] {3});
                opt.step(p);
                opt.state();
                counts[step] = mgr.getManagedArrays().size() + opt.manager().getManagedArrays().size();
            }
            assertEquals(counts[1], counts[2], "arrays kept after step 2 and step 3");
        }
    }

    @Test
    void stateRoundTripContinuesIdentically() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray a = mgr.create(new float[] {1, 2});
            NDArray b = mgr.create(new float[] {1, 2});
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            Map<String, NDArray> pa = Map.of("x", a);
            Map<String, NDArray> pb = Map.of("x", b);
            AdamW oa = AdamW.builder().optLearningRate(0.01).build();
            backward(a, new float[] {1, -1});
            oa.step(pa);
            b.set(a.toFloatArray());
            AdamW ob = AdamW.builder().optLearningRate(0.01).build();
            ob.loadState(oa.state());
            AdamW.zeroGradients(pa);
            backward(a, new float[] {0.5f, 2});
            oa.step(pa);
            backward(b, new float[] {0.5f, 2});
            ob.step(pb);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 0f);
            assertEquals(oa.stepCount(), ob.stepCount());
        }
    }

    @Test
    void clipGradNormScalesToTheLimitLikeTorch() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray a = mgr.create(new float[] {0, 0});
            a.setRequiresGradient(true);
            backward(a, new float[] {3, 4});
            double norm = AdamW.clipGradNorm(Map.of("a", a), 1.0);
            assertEquals(5.0, norm, 1e-6);
            float[] g = a.getGradient().toFloatArray();
            assertEquals(3 / (5 + 1e-6), g[0], 1e-6);
            assertEquals(4 / (5 + 1e-6), g[1], 1e-6);
        }
    }

    @Test
    void emaFollowsDiffusersDecay() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray w = mgr.create(new float[] {1});
            Ema ema = new Ema(Map.of("w", w), 0.9999);
            double shadow = 1;
            for (int n = 1; n <= 5; n++) {
                w.set(new float[] {n * 2f});
                ema.update(Map.of("w", w));
                long k = Math.max(0, n - 1);
                double d = k == 0 ? 0 : Math.min(0.9999, (1.0 + k) / (10.0 + k));
                shadow = d * shadow + (1 - d) * n * 2;
                assertEquals(shadow, ema.weights().get("w").getFloat(0), 1e-5);
            }
            assertEquals(0.0, ema.decayAt(1));
            assertEquals(2.0 / 11.0, ema.decayAt(2), 1e-12);
        }
    }

    @Test
    void exponentialLrMultipliesByGammaPerEpoch() {
        AdamW opt = AdamW.builder().optLearningRate(1e-5).build();
        ExponentialLR s = new ExponentialLR(opt, 0.9);
        s.setEpoch(2);
        assertEquals(1e-5 * 0.81, opt.learningRate(), 1e-18);
    }
}
