package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** A module of one input and one output: DJL's {@code forward} calls {@link #forward(NDArray)}. */
public abstract class UnaryBlock extends ModuleBlock {

    /** The module's output for {@code x} (differentiable inside a gradient collector). */
    public abstract NDArray forward(NDArray x);

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(inputs.head()));
    }

    /** The input's shape, unless the module changes it. */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
