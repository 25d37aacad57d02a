package diffusionkit.models;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * PyTorch's fused group norm and SiLU (through the shipped TorchScript module) against the composed fallback and
 * against closed-form SiLU: the same values and the same gradients for the input, the scale and the shift.
 */
class FusedOpsTest {

    @Test
    void fusedGroupNormEqualsTheComposedOneWithGradients() {
        assertTrue(FusedOps.available(), String.valueOf(FusedOps.reason()));
        assertTrue(FusedOps.describe().contains("fused"), FusedOps.describe());
        try (NDManager m = NDManager.newBaseManager()) {
            Random r = new Random(7);
            float[] weight = floats(r, 16, 1.0, 0.5);
            float[] bias = floats(r, 16, 0.0, 0.5);
            float[] x = floats(r, 3 * 16 * 5 * 6, 0.3, 2.0);
            float[] g = floats(r, 3 * 16 * 5 * 6, 0.0, 1.0);
            float[][] fused = groupNormAndGradients(m, weight, bias, x, g);
            System.setProperty(FusedOps.PROPERTY, "false");
            float[][] composed;
            try {
                assertFalse(FusedOps.available());
                assertTrue(FusedOps.describe().contains("composed") && FusedOps.describe().contains(FusedOps.PROPERTY), FusedOps.describe());
                composed = groupNormAndGradients(m, weight, bias, x, g);
            } finally {
                System.clearProperty(FusedOps.PROPERTY);
            }
            String[] what = {"output", "input gradient", "scale gradient", "shift gradient"};
            for (int i = 0; i < what.length; i++) {
                assertArrayEquals(composed[i], fused[i], 2e-5f * (1 + maxAbs(composed[i])), what[i]);
            }
            assertTrue(maxAbs(fused[1]) > 0.1 && maxAbs(fused[2]) > 0.1, "gradients reach the input and the scale");
        }
    }

    @Test
    void fusedSiluMatchesClosedFormValuesAndGradient() {
        assertTrue(FusedOps.available(), String.valueOf(FusedOps.reason()));
        try (NDManager m = NDManager.newBaseManager()) {
            float[] v = floats(new Random(3), 64, 0.0, 4.0);
            NDArray x = m.create(v, new Shape(4, 16));
            x.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = Ops.silu(x);
                y = out.toFloatArray();
                gc.backward(out.sum());
            }
            float[] dx = x.getGradient().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                double s = 1 / (1 + Math.exp(-v[i]));
                assertEquals(v[i] * s, y[i], 1e-6 * (1 + Math.abs(v[i])), "silu(" + v[i] + ")");
                assertEquals(s * (1 + v[i] * (1 - s)), dx[i], 1e-6, "silu'(" + v[i] + ")");  // d/dx x·σ(x)
            }
        }
    }

    /** [output, d(sum(y·g))/dx, .../dweight, .../dbias]. */
    private static float[][] groupNormAndGradients(NDManager m, float[] weight, float[] bias, float[] input, float[] grad) {
        GroupNorm gn = new GroupNorm(m, 4, 16, 1e-5);  // fresh arrays: gradients accumulate
        NDArray w = gn.weight().getArray();
        NDArray b = gn.bias().getArray();
        w.set(weight);
        b.set(bias);
        NDArray x = m.create(input, new Shape(3, 16, 5, 6));
        NDArray g = m.create(grad, new Shape(3, 16, 5, 6));
        for (NDArray a : new NDArray[] {x, w, b}) {
            a.setRequiresGradient(true);
        }
        float[] y;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = gn.forward(x);
            y = out.toFloatArray();
            gc.backward(out.mul(g).sum());
        }
        return new float[][] {y, x.getGradient().toFloatArray(), w.getGradient().toFloatArray(), b.getGradient().toFloatArray()};
    }

    private static float[] floats(Random r, int n, double mean, double sd) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (mean + sd * r.nextGaussian());
        }
        return f;
    }

    private static float maxAbs(float[] a) {
        float m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
