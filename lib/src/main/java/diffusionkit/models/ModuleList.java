package diffusionkit.models;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * PyTorch's {@code nn.ModuleList}: children named {@code 0, 1, ...}. It is a container, not a layer:
 * the owning block calls the children.
 *
 * @param <B> the kind of child
 */
public final class ModuleList<B extends Block> extends ModuleBlock {

    private final List<B> items = new ArrayList<>();

    /** Appends {@code block} under the next index. */
    public B add(B block) {
        module(String.valueOf(items.size()), block);
        items.add(block);
        return block;
    }

    /** The child at {@code i}. */
    public B get(int i) {
        return items.get(i);
    }

    /** Number of children. */
    public int size() {
        return items.size();
    }

    /** The children in order. */
    public List<B> items() {
        return Collections.unmodifiableList(items);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("a ModuleList is a container: call its children");
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("a ModuleList is a container: ask its children");
    }
}
