package diffusionkit.util;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;

import java.util.Random;

/** The start-up check behind {@link Convolutions#nativeDefect()}: the failing case of the defect, once. */
final class NativeConvCheck {

    private NativeConvCheck() {}

    /** True when PyTorch's own float32 input gradient of a 32 -> 1 channel 3x3 convolution is off by over 1e-3. */
    static boolean run() {
        if (!"PyTorch".equals(Engine.getInstance().getEngineName())) {
            return false;
        }
        Random random = new Random(7);
        float[] xv = gaussian(random, 2 * 32 * 28 * 28);
        float[] wv = gaussian(random, 32 * 9);
        float[] rv = gaussian(random, 2 * 28 * 28);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray x = m.create(xv, new Shape(2, 32, 28, 28));
            NDArray w = m.create(wv, new Shape(1, 32, 3, 3));
            NDArray r = m.create(rv, new Shape(2, 1, 28, 28));
            NDArray nativeGrad = inputGradient(x, w, r, false);
            NDArray exact = inputGradient(x.toType(DataType.FLOAT64, true), w.toType(DataType.FLOAT64, true),
                    r.toType(DataType.FLOAT64, true), true);
            double scale = exact.abs().max().getDouble();
            NDArray diff = nativeGrad.toType(DataType.FLOAT64, true).sub(exact).abs();
            double err = diff.max().getDouble();
            // NaN compares false: a NaN gradient counts as the defect
            return !(err <= 1e-3 * scale);
        }
    }

    /** d(sum(conv(x, w) * r))/dx, through PyTorch's convolution or through the im2col path. */
    private static NDArray inputGradient(NDArray x0, NDArray w, NDArray r, boolean im2col) {
        NDArray x = x0.duplicate();
        x.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = im2col ? Convolutions.im2colConv(x, w, null, 1, 1)
                    : Conv2d.conv2d(x, w, null, new Shape(1, 1), new Shape(1, 1), new Shape(1, 1)).singletonOrThrow();
            gc.backward(y.mul(r).sum());
        }
        return x.getGradient().duplicate();
    }

    private static float[] gaussian(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }
}
