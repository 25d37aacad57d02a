package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** diffusers' {@code TimestepEmbedding}: {@code linear_2(silu(linear_1(x)))}. */
public final class TimestepEmbedding extends UnaryBlock {

    private final LinearLayer linear1;
    private final LinearLayer linear2;

    /**
     * @param manager where the parameters live
     * @param inChannels width of the sinusoidal embedding
     * @param timeEmbedDim width of the result
     */
    public TimestepEmbedding(NDManager manager, int inChannels, int timeEmbedDim) {
        linear1 = module("linear_1", new LinearLayer(manager, inChannels, timeEmbedDim));
        linear2 = module("linear_2", new LinearLayer(manager, timeEmbedDim, timeEmbedDim));
    }

    /** Embeds {@code x} [N, in]. */
    @Override
    public NDArray forward(NDArray x) {
        try (NDArray h = linear1.forward(x); NDArray a = Ops.silu(h)) {
            return linear2.forward(a);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), linear2.outFeatures())};
    }
}
