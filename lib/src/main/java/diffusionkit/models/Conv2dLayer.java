package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import diffusionkit.util.Convolutions;

/**
 * PyTorch's {@code nn.Conv2d} (square kernel, bias): parameters {@code weight} [out, in, k, k] and
 * {@code bias} [out], initialised as PyTorch does (uniform in ±1/sqrt(in·k·k)). It convolves through
 * {@link Convolutions#conv2d}, which is right on CPUs whose natives get some shapes wrong.
 */
public final class Conv2dLayer extends UnaryBlock {

    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param manager where the parameters live
     * @param inChannels input channels
     * @param outChannels output channels
     * @param kernel kernel size
     * @param stride stride
     * @param padding zero padding on every side
     */
    public Conv2dLayer(NDManager manager, int inChannels, int outChannels, int kernel, int stride, int padding) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        double bound = 1.0 / Math.sqrt((double) inChannels * kernel * kernel);
        weight = param("weight", Parameter.Type.WEIGHT, uniform(manager, bound, new Shape(outChannels, inChannels, kernel, kernel)));
        bias = param("bias", Parameter.Type.BIAS, uniform(manager, bound, new Shape(outChannels)));
    }

    /** Convolves {@code x} [N, in, H, W]. */
    @Override
    public NDArray forward(NDArray x) {
        return Convolutions.conv2d(x, weight.getArray(), bias.getArray(), stride, padding);
    }

    /** The weight parameter. */
    public Parameter weight() {
        return weight;
    }

    /** The bias parameter. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        long h = (s.get(2) + 2L * padding - kernel) / stride + 1;
        long w = (s.get(3) + 2L * padding - kernel) / stride + 1;
        return new Shape[] {new Shape(s.get(0), outChannels, h, w)};
    }

    @Override
    public String toString() {
        return "Conv2d(" + inChannels + ", " + outChannels + ", kernel=" + kernel + ", stride=" + stride + ", padding=" + padding + ")";
    }
}
