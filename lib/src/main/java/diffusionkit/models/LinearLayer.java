package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;

/**
 * PyTorch's {@code nn.Linear} with bias: {@code weight} [out, in], {@code bias} [out], initialised as PyTorch
 * does (uniform in ±1/sqrt(in)).
 */
public final class LinearLayer extends UnaryBlock {

    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * @param manager where the parameters live
     * @param inFeatures input features
     * @param outFeatures output features
     */
    public LinearLayer(NDManager manager, int inFeatures, int outFeatures) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        double bound = 1.0 / Math.sqrt(inFeatures);
        weight = param("weight", Parameter.Type.WEIGHT, uniform(manager, bound, new Shape(outFeatures, inFeatures)));
        bias = param("bias", Parameter.Type.BIAS, uniform(manager, bound, new Shape(outFeatures)));
    }

    /** {@code x @ weight.T + bias} over the last axis of {@code x}. */
    @Override
    public NDArray forward(NDArray x) {
        return Linear.linear(x, weight.getArray(), bias.getArray()).singletonOrThrow();
    }

    /** The weight parameter [out, in]. */
    public Parameter weight() {
        return weight;
    }

    /** The bias parameter [out]. */
    public Parameter bias() {
        return bias;
    }

    /** Output features. */
    public int outFeatures() {
        return outFeatures;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {s.slice(0, s.dimension() - 1).add(outFeatures)};
    }

    @Override
    public String toString() {
        return "Linear(" + inFeatures + ", " + outFeatures + ")";
    }
}
