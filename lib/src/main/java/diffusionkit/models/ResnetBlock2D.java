package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import diffusionkit.util.Scalars;

/**
 * diffusers' {@code ResnetBlock2D} with {@code time_embedding_norm="default"}:
 * <pre>
 * h = conv1(silu(norm1(x))) + time_emb_proj(silu(temb))[:, :, None, None]
 * h = conv2(dropout(silu(norm2(h))))
 * out = (conv_shortcut(x) or x + h) / output_scale_factor
 * </pre>
 * {@code conv_shortcut} (1x1) exists when the channel count changes.
 */
public final class ResnetBlock2D extends ModuleBlock {

    private final int inChannels;
    private final int outChannels;
    private final double outputScaleFactor;
    private final float dropout;
    private final GroupNorm norm1;
    private final Conv2dLayer conv1;
    private final LinearLayer timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2dLayer conv2;
    private final Conv2dLayer convShortcut;

    /**
     * @param manager where the parameters live
     * @param inChannels input channels
     * @param outChannels output channels
     * @param tembChannels width of the time embedding, or 0 for none
     * @param groups GroupNorm groups
     * @param eps GroupNorm eps
     * @param dropout dropout probability (training only)
     * @param outputScaleFactor divides the output
     */
    public ResnetBlock2D(NDManager manager, int inChannels, int outChannels, int tembChannels, int groups, double eps,
                         double dropout, double outputScaleFactor) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.outputScaleFactor = outputScaleFactor;
        this.dropout = (float) dropout;
        norm1 = module("norm1", new GroupNorm(manager, groups, inChannels, eps));
        conv1 = module("conv1", new Conv2dLayer(manager, inChannels, outChannels, 3, 1, 1));
        timeEmbProj = tembChannels > 0 ? module("time_emb_proj", new LinearLayer(manager, tembChannels, outChannels)) : null;
        norm2 = module("norm2", new GroupNorm(manager, groups, outChannels, eps));
        conv2 = module("conv2", new Conv2dLayer(manager, outChannels, outChannels, 3, 1, 1));
        convShortcut = inChannels != outChannels
                ? module("conv_shortcut", new Conv2dLayer(manager, inChannels, outChannels, 1, 1, 0)) : null;
    }

    /**
     * @param x [N, in, H, W]
     * @param tembAct {@code silu(temb)} [N, temb] (the activation is shared by all blocks), or null
     * @param training whether dropout is active
     * @return [N, out, H, W]
     */
    public NDArray forward(NDArray x, NDArray tembAct, boolean training) {
        NDArray h;
        try (NDArray n1 = norm1.forward(x); NDArray a1 = Ops.silu(n1)) {
            h = conv1.forward(a1);
        }
        if (timeEmbProj != null && tembAct != null) {
            try (NDArray t = timeEmbProj.forward(tembAct); NDArray t4 = t.reshape(t.getShape().get(0), outChannels, 1, 1)) {
                h.addi(t4); // conv outputs are not saved for backward: adding in place is safe under autograd
            }
        }
        NDArray a2;
        try (NDArray hh = h; NDArray n2 = norm2.forward(hh)) {
            a2 = Ops.silu(n2);
        }
        if (training && dropout > 0) {
            try (NDArray in = a2) {
                a2 = Dropout.dropout(in, dropout, true).singletonOrThrow();
            }
        }
        NDArray out;
        try (NDArray in = a2) {
            out = conv2.forward(in);
        }
        if (convShortcut != null) {
            try (NDArray sc = convShortcut.forward(x)) {
                out.addi(sc);
            }
        } else {
            out.addi(x);
        }
        if (outputScaleFactor != 1.0) {
            Scalars.divi(out, outputScaleFactor);
        }
        return out;
    }

    /** Output channels. */
    public int outChannels() {
        return outChannels;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray temb = inputs.size() > 1 ? inputs.get(1) : null;
        if (temb == null) {
            return new NDList(forward(inputs.head(), null, training));
        }
        try (NDArray act = Ops.silu(temb)) {
            return new NDList(forward(inputs.head(), act, training));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), outChannels, s.get(2), s.get(3))};
    }

    @Override
    public String toString() {
        return "ResnetBlock2D(" + inChannels + " -> " + outChannels + ")";
    }
}
