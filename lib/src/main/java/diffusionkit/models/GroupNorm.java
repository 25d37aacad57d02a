package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * PyTorch's {@code nn.GroupNorm(num_groups, num_channels, eps, affine=True)}: the channels of each sample are
 * split into {@code G} groups; each group is normalised by its own mean and (biased) variance over its
 * channels and positions, {@code (x - mean) / sqrt(var + eps)}, then scaled by {@code weight} and shifted by
 * {@code bias} per channel.
 *
 * <p>PyTorch's fused {@code group_norm} runs it where {@link FusedOps} is available (the kit's PyTorch engine). DJL
 * itself has no group norm; without the fused one, the normalisation runs as one fused layer norm over the view
 * [N, G, C/G·H·W] (normalised shape [C/G·H·W], unit scale), and the per-channel affine as one fused
 * inference-mode batch norm with zero mean and unit variance (so it computes exactly {@code x·w + b});
 * both are differentiable, so gradients reach the input, {@code weight} and {@code bias}.
 */
public final class GroupNorm extends UnaryBlock {

    private final int numGroups;
    private final int numChannels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;
    /** Constant helper arrays (unit scale, zero shift) by length, on the parameters' device. */
    private final Map<Long, NDArray[]> constants = new ConcurrentHashMap<>();

    /**
     * @param manager where the parameters live
     * @param numGroups groups G (must divide numChannels)
     * @param numChannels channels C
     * @param eps added to the variance
     */
    public GroupNorm(NDManager manager, int numGroups, int numChannels, double eps) {
        if (numGroups <= 0 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException("GroupNorm: num_groups " + numGroups + " must divide num_channels " + numChannels);
        }
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = (float) eps;
        weight = param("weight", Parameter.Type.GAMMA, manager.ones(new Shape(numChannels)));
        bias = param("bias", Parameter.Type.BETA, manager.zeros(new Shape(numChannels)));
    }

    /** Normalises {@code x} [N, C, ...]. */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long n = s.get(0);
        long c = s.get(1);
        if (c != numChannels) {
            throw new IllegalArgumentException("GroupNorm expects " + numChannels + " channels, got shape " + s);
        }
        NDArray w = weight.getArray();
        if (FusedOps.useFor(x)) {
            return FusedOps.groupNorm(x, w, bias.getArray(), numGroups, eps);
        }
        long groupSize = s.size() / (n * numGroups);
        NDArray[] ones = constants(groupSize, w);
        NDArray[] affine = constants(-numChannels, w);
        try (NDArray grouped = x.reshape(n, numGroups, groupSize);
             NDArray normed = x.getNDArrayInternal()
                     .layerNorm(grouped, new Shape(groupSize), ones[0], ones[1], eps).singletonOrThrow();
             NDArray back = normed.reshape(s)) {
            // inference-mode batch norm with mean 0, variance 1, eps 0: exactly back * weight + bias per channel
            return BatchNorm.batchNorm(back, affine[1], affine[0], w, bias.getArray(), -1, 0.1f, 0f, false)
                    .singletonOrThrow();
        }
    }

    private NDArray[] constants(long length, NDArray like) {
        return constants.computeIfAbsent(length, k -> {
            long len = Math.abs(k);
            NDManager m = like.getManager();
            NDArray one = m.ones(new Shape(len), DataType.FLOAT32, like.getDevice());
            NDArray zero = m.zeros(new Shape(len), DataType.FLOAT32, like.getDevice());
            return new NDArray[] {one, zero};
        });
    }

    /** The scale parameter [C]. */
    public Parameter weight() {
        return weight;
    }

    /** The shift parameter [C]. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public String toString() {
        return "GroupNorm(" + numGroups + ", " + numChannels + ", eps=" + eps + ")";
    }
}
