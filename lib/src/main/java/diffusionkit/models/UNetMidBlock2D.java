package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * diffusers' {@code UNetMidBlock2D} (one layer): {@code resnets.0}, then {@code attentions.0} (when
 * {@code add_attention}) and {@code resnets.1}; ResNet outputs and the attention are divided by
 * {@code output_scale_factor} ({@code mid_block_scale_factor}).
 */
public final class UNetMidBlock2D extends ModuleBlock {

    private final int channels;
    private final ModuleList<Attention> attentions;
    private final ModuleList<ResnetBlock2D> resnets;

    /**
     * @param manager where the parameters live
     * @param channels channels in and out
     * @param s shared settings
     * @param attnGroups groups of the attention's GroupNorm (null: {@code s.groups()})
     * @param addAttention whether the attention exists
     * @param outputScaleFactor {@code mid_block_scale_factor}
     */
    public UNetMidBlock2D(NDManager manager, int channels, DownBlock2D.Settings s, Integer attnGroups,
                          boolean addAttention, double outputScaleFactor) {
        this.channels = channels;
        attentions = addAttention ? module("attentions", new ModuleList<>()) : null;
        resnets = module("resnets", new ModuleList<>());
        resnets.add(new ResnetBlock2D(manager, channels, channels, s.tembChannels(), s.groups(), s.eps(), s.dropout(),
                outputScaleFactor));
        if (addAttention) {
            int headDim = s.attentionHeadDim() != null ? s.attentionHeadDim() : channels;
            int groups = attnGroups != null ? attnGroups : s.groups();
            attentions.add(new Attention(manager, channels, channels / headDim, headDim, groups, s.eps(), true, outputScaleFactor));
        }
        resnets.add(new ResnetBlock2D(manager, channels, channels, s.tembChannels(), s.groups(), s.eps(), s.dropout(),
                outputScaleFactor));
    }

    /** Runs the block on {@code x} (not closed). */
    public NDArray forward(NDArray x, NDArray tembAct, boolean training) {
        NDArray h = resnets.get(0).forward(x, tembAct, training);
        if (attentions != null) {
            try (NDArray r = h) {
                h = attentions.get(0).forward(r);
            }
        }
        try (NDArray r = h) {
            return resnets.get(1).forward(r, tembAct, training);
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        try (NDArray act = Ops.silu(inputs.get(1))) {
            return new NDList(forward(inputs.head(), act, training));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public String toString() {
        return "UNetMidBlock2D(" + channels + ")";
    }
}
