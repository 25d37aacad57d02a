package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;

/** PyTorch's {@code nn.Embedding}: a table {@code weight} [num, dim] (initialised N(0, 1)) looked up by integer index. */
public final class EmbeddingLayer extends UnaryBlock {

    private final int num;
    private final int dim;
    private final Parameter weight;

    /**
     * @param manager where the table lives
     * @param num number of entries
     * @param dim width of each entry
     */
    public EmbeddingLayer(NDManager manager, int num, int dim) {
        this.num = num;
        this.dim = dim;
        weight = param("weight", Parameter.Type.WEIGHT, manager.randomNormal(new Shape(num, dim)));
    }

    /** The rows of the table for {@code indices} (any integer or integral float type). */
    @Override
    public NDArray forward(NDArray indices) {
        try (NDArray idx = indices.toType(DataType.INT64, true)) {
            return Embedding.embedding(idx, weight.getArray(), SparseFormat.DENSE).singletonOrThrow();
        }
    }

    /** The table parameter. */
    public Parameter weight() {
        return weight;
    }

    /** Number of entries. */
    public int size() {
        return num;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(dim)};
    }
}
