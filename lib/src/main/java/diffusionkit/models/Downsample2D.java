package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * diffusers' {@code Downsample2D} (name "op"): a 3x3 convolution with stride 2 ({@code conv}), or a 2x2 average
 * pool when {@code useConv} is false. With padding 0 the input is first padded by one zero column on the right
 * and one zero row at the bottom, as diffusers does.
 */
public final class Downsample2D extends UnaryBlock {

    private final int channels;
    private final boolean useConv;
    private final int padding;
    private final Conv2dLayer conv;

    /**
     * @param manager where the parameters live
     * @param channels input channels
     * @param useConv strided convolution (true) or average pooling (false)
     * @param outChannels output channels (must equal channels for pooling)
     * @param padding the convolution's padding ({@code downsample_padding})
     */
    public Downsample2D(NDManager manager, int channels, boolean useConv, int outChannels, int padding) {
        this.channels = channels;
        this.useConv = useConv;
        this.padding = padding;
        if (!useConv && outChannels != channels) {
            throw new IllegalArgumentException("Downsample2D: pooling keeps the channel count, got " + channels + " -> " + outChannels);
        }
        conv = useConv ? module("conv", new Conv2dLayer(manager, channels, outChannels, 3, 2, padding)) : null;
    }

    /** Halves the resolution of {@code x} [N, C, H, W]. */
    @Override
    public NDArray forward(NDArray x) {
        if (!useConv) {
            return x.getNDArrayInternal().avgPool(new Shape(2, 2), new Shape(2, 2), new Shape(0, 0), false, true);
        }
        if (padding == 0) {
            try (NDArray padded = x.pad(new Shape(0, 1, 0, 1), 0)) {
                return conv.forward(padded);
            }
        }
        return conv.forward(x);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        if (!useConv) {
            return new Shape[] {new Shape(s.get(0), channels, s.get(2) / 2, s.get(3) / 2)};
        }
        if (padding == 0) {
            s = new Shape(s.get(0), s.get(1), s.get(2) + 1, s.get(3) + 1);
        }
        return conv.getOutputShapes(new Shape[] {s});
    }
}
