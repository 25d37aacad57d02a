package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** diffusers' {@code Upsample2D} with {@code use_conv=True}: nearest-neighbour upsampling by 2, then a 3x3 {@code conv}. */
public final class Upsample2D extends UnaryBlock {

    private final Conv2dLayer conv;

    /**
     * @param manager where the parameters live
     * @param channels input channels
     * @param outChannels output channels
     */
    public Upsample2D(NDManager manager, int channels, int outChannels) {
        conv = module("conv", new Conv2dLayer(manager, channels, outChannels, 3, 1, 1));
    }

    /** Doubles the resolution of {@code x} [N, C, H, W]. */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        try (NDArray up = x.getNDArrayInternal().interpolation(new long[] {s.get(2) * 2, s.get(3) * 2}, 0, false)) {
            return conv.forward(up);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return conv.getOutputShapes(new Shape[] {new Shape(s.get(0), s.get(1), s.get(2) * 2, s.get(3) * 2)});
    }
}
