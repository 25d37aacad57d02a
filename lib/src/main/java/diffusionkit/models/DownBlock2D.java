package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.List;

/**
 * diffusers' {@code DownBlock2D}: {@code num_layers} ResNet blocks ({@code resnets}), then an optional strided
 * conv ({@code downsamplers.0}). Every ResNet output and the downsampled map are kept as skip connections.
 * {@link AttnDownBlock2D} adds an attention after each ResNet block.
 */
public class DownBlock2D extends ModuleBlock {

    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Attention> attentions;
    private final ModuleList<Downsample2D> downsamplers;

    /** Settings shared by the down, up and mid blocks. */
    public record Settings(int tembChannels, int groups, double eps, double dropout, Integer attentionHeadDim) {}

    /**
     * @param manager where the parameters live
     * @param numLayers ResNet blocks
     * @param inChannels input channels
     * @param outChannels output channels
     * @param s shared settings
     * @param addDownsample whether to halve the resolution at the end
     * @param downsamplePadding the downsampling conv's padding
     */
    public DownBlock2D(NDManager manager, int numLayers, int inChannels, int outChannels, Settings s,
                       boolean addDownsample, int downsamplePadding) {
        this(manager, numLayers, inChannels, outChannels, s, addDownsample, downsamplePadding, false);
    }

    DownBlock2D(NDManager manager, int numLayers, int inChannels, int outChannels, Settings s,
                boolean addDownsample, int downsamplePadding, boolean attention) {
        // diffusers registers attentions before resnets in AttnDownBlock2D; the order only affects iteration
        attentions = attention ? module("attentions", new ModuleList<>()) : null;
        resnets = module("resnets", new ModuleList<>());
        for (int i = 0; i < numLayers; i++) {
            resnets.add(new ResnetBlock2D(manager, i == 0 ? inChannels : outChannels, outChannels, s.tembChannels(),
                    s.groups(), s.eps(), s.dropout(), 1.0));
            if (attention) {
                int headDim = s.attentionHeadDim() != null ? s.attentionHeadDim() : outChannels;
                attentions.add(new Attention(manager, outChannels, outChannels / headDim, headDim, s.groups(), s.eps(), true, 1.0));
            }
        }
        if (addDownsample) {
            downsamplers = module("downsamplers", new ModuleList<>());
            downsamplers.add(new Downsample2D(manager, outChannels, true, outChannels, downsamplePadding));
        } else {
            downsamplers = null;
        }
    }

    /**
     * @param x input [N, in, H, W]
     * @param tembAct {@code silu(temb)}
     * @param training dropout on
     * @param skips receives each ResNet (+attention) output and the downsampled map
     * @return the block's output (the last element added to {@code skips})
     */
    public NDArray forward(NDArray x, NDArray tembAct, boolean training, List<NDArray> skips) {
        NDArray h = x;
        for (int i = 0; i < resnets.size(); i++) {
            h = resnets.get(i).forward(h, tembAct, training);
            if (attentions != null) {
                try (NDArray r = h) {
                    h = attentions.get(i).forward(r);
                }
            }
            skips.add(h);
        }
        if (downsamplers != null) {
            h = downsamplers.get(0).forward(h);
            skips.add(h);
        }
        return h;
    }

    /** Number of ResNet blocks. */
    public int numLayers() {
        return resnets.size();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        List<NDArray> skips = new java.util.ArrayList<>();
        try (NDArray act = Ops.silu(inputs.get(1))) {
            forward(inputs.head(), act, training, skips);
        }
        return new NDList(skips);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException("DownBlock2D returns one map per skip connection: run it to see them");
    }
}
