package diffusionkit.models;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layers against closed-form math computed here in double precision. */
class LayersTest {

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 2 + 0.5);
        }
        return v;
    }

    /** torch.nn.GroupNorm: per (sample, group) mean and biased variance over channels x positions, then affine. */
    @Test
    void groupNormMatchesTheDefinition() {
        int n = 2, c = 6, g = 3, h = 3, w = 4;
        double eps = 1e-5;
        float[] x = random(n * c * h * w, 1);
        float[] gamma = random(c, 2);
        float[] beta = random(c, 3);
        try (NDManager m = manager.newSubManager()) {
            GroupNorm gn = new GroupNorm(m, g, c, eps);
            gn.weight().getArray().set(gamma);
            gn.bias().getArray().set(beta);
            float[] y = gn.forward(m.create(x, new Shape(n, c, h, w))).toFloatArray();
            int per = c / g * h * w;
            for (int s = 0; s < n; s++) {
                for (int gi = 0; gi < g; gi++) {
                    int base = (s * c + gi * (c / g)) * h * w;
                    double mean = 0;
                    for (int i = 0; i < per; i++) {
                        mean += x[base + i];
                    }
                    mean /= per;
                    double var = 0;
                    for (int i = 0; i < per; i++) {
                        var += (x[base + i] - mean) * (x[base + i] - mean);
                    }
                    var /= per;
                    for (int i = 0; i < per; i++) {
                        int ch = gi * (c / g) + i / (h * w);
                        double expected = (x[base + i] - mean) / Math.sqrt(var + eps) * gamma[ch] + beta[ch];
                        assertEquals(expected, y[base + i], 1e-5, "at " + (base + i));
                    }
                }
            }
        }
    }

    /** The gradient of sum(GroupNorm(x) * r) with respect to gamma is sum over positions of xhat * r. */
    @Test
    void groupNormIsDifferentiable() {
        try (NDManager m = manager.newSubManager()) {
            GroupNorm gn = new GroupNorm(m, 2, 4, 1e-5);
            NDArray gamma = gn.weight().getArray();
            gamma.setRequiresGradient(true);
            NDArray x = m.create(random(2 * 4 * 5, 4), new Shape(2, 4, 5));
            NDArray r = m.create(random(2 * 4 * 5, 5), new Shape(2, 4, 5));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(gn.forward(x).mul(r).sum());
            }
            // with gamma = 1 and beta = 0 the output is xhat itself
            NDArray xhat = gn.forward(x);
            NDArray expected = xhat.mul(r).sum(new int[] {0, 2});
            assertTrue(expected.sub(gamma.getGradient()).abs().max().getFloat() < 1e-4);
        }
    }

    /** get_timestep_embedding: [cos(t f_i), sin(t f_i)] with f_i = exp(-ln(10000) i / (half - shift)). */
    @Test
    void timestepEmbeddingIsSinusoidal() {
        int dim = 32;
        int half = dim / 2;
        long[] ts = {0, 1, 250, 999};
        try (NDManager m = manager.newSubManager()) {
            for (double shift : new double[] {0, 1}) {
                for (boolean flip : new boolean[] {true, false}) {
                    float[] e = Timesteps.getTimestepEmbedding(m.create(ts), dim, flip, shift, 1, 10000).toFloatArray();
                    for (int k = 0; k < ts.length; k++) {
                        for (int i = 0; i < half; i++) {
                            double f = Math.exp(-Math.log(10000) * i / (half - shift));
                            double sin = Math.sin(ts[k] * f);
                            double cos = Math.cos(ts[k] * f);
                            // float32 arguments up to ~1000 carry ~6e-5 rounding, as in PyTorch
                            assertEquals(flip ? cos : sin, e[k * dim + i], 3e-4);
                            assertEquals(flip ? sin : cos, e[k * dim + half + i], 3e-4);
                        }
                    }
                }
            }
            // odd widths are zero-padded
            NDArray odd = Timesteps.getTimestepEmbedding(m.create(new long[] {5}), 5, true, 0, 1, 10000);
            assertEquals(new Shape(1, 5), odd.getShape());
            assertEquals(0f, odd.getFloat(0, 4));
        }
    }

    /** Average-pool downsampling averages each 2x2 block; padding 0 pads right/bottom before the strided conv. */
    @Test
    void downsamplingByPoolingAndPaddedConv() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.arange(16f).reshape(1, 1, 4, 4);
            Downsample2D pool = new Downsample2D(m, 1, false, 1, 1);
            assertEquals(0, pool.namedParameters().size());
            float[] y = pool.forward(x).toFloatArray();
            assertEquals(2.5f, y[0]);   // (0 + 1 + 4 + 5) / 4
            assertEquals(4.5f, y[1]);   // (2 + 3 + 6 + 7) / 4
            assertEquals(10.5f, y[2]);
            assertEquals(12.5f, y[3]);

            // a 3x3 kernel of ones with stride 2 and diffusers' (0, 1, 0, 1) padding sums 3x3 windows at (0,0), (0,2), ...
            Downsample2D conv = new Downsample2D(m, 1, true, 1, 0);
            conv.namedParameters().get("conv.weight").getArray().set(m.ones(new Shape(1, 1, 3, 3)).toFloatArray());
            conv.namedParameters().get("conv.bias").getArray().set(new float[] {0f});
            float[] z = conv.forward(x).toFloatArray();
            assertEquals(4, z.length);
            assertEquals(0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10, z[0]);
            assertEquals(2 + 3 + 6 + 7 + 10 + 11, z[1]); // the padded column adds zeros
            assertEquals(8 + 9 + 10 + 12 + 13 + 14, z[2]);
            assertEquals(10 + 11 + 14 + 15, z[3]);
        }
    }

    /** Nearest upsampling repeats each pixel 2x2 (checked with a 3x3 identity kernel). */
    @Test
    void upsamplingIsNearest() {
        try (NDManager m = manager.newSubManager()) {
            Upsample2D up = new Upsample2D(m, 1, 1);
            float[] k = new float[9];
            k[4] = 1;
            up.namedParameters().get("conv.weight").getArray().set(k);
            up.namedParameters().get("conv.bias").getArray().set(new float[] {0f});
            float[] y = up.forward(m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2))).toFloatArray();
            assertEquals(16, y.length);
            float[] expected = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
            for (int i = 0; i < 16; i++) {
                assertEquals(expected[i], y[i]);
            }
        }
    }

    /** Attention with one position returns to_out(to_v(norm(x))) + x (softmax over one key is 1). */
    @Test
    void attentionOverOnePositionIsTheValuePath() {
        try (NDManager m = manager.newSubManager()) {
            Attention at = new Attention(m, 4, 2, 2, 0, 1e-5, true, 2.0);
            NDArray x = m.create(random(3 * 4, 7), new Shape(3, 4, 1, 1));
            NDArray y = at.forward(x);
            NDArray flat = x.reshape(3, 4);
            NDArray v = flat.matMul(at.namedParameters().get("to_v.weight").getArray().transpose())
                    .add(at.namedParameters().get("to_v.bias").getArray());
            NDArray o = v.matMul(at.namedParameters().get("to_out.0.weight").getArray().transpose())
                    .add(at.namedParameters().get("to_out.0.bias").getArray());
            NDArray expected = o.add(flat).div(2.0).reshape(3, 4, 1, 1);
            assertTrue(expected.sub(y).abs().max().getFloat() < 1e-5);
            assertEquals(DataType.FLOAT32, y.getDataType());
        }
    }
}
