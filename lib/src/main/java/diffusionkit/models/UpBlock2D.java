package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpBlock2D}: {@code num_layers} ResNet blocks, each fed the concatenation (on channels) of the
 * running map and the last unused skip connection, then an optional nearest upsampling + conv
 * ({@code upsamplers.0}). {@link AttnUpBlock2D} adds an attention after each ResNet block.
 */
public class UpBlock2D extends ModuleBlock {

    private final ModuleList<ResnetBlock2D> resnets;
    private final ModuleList<Attention> attentions;
    private final ModuleList<Upsample2D> upsamplers;

    /**
     * @param manager where the parameters live
     * @param numLayers ResNet blocks ({@code layers_per_block + 1} in a UNet)
     * @param inChannels channels of the deepest skip connection this block consumes
     * @param prevOutputChannels channels of the incoming map
     * @param outChannels output channels
     * @param s shared settings
     * @param addUpsample whether to double the resolution at the end
     */
    public UpBlock2D(NDManager manager, int numLayers, int inChannels, int prevOutputChannels, int outChannels,
                     DownBlock2D.Settings s, boolean addUpsample) {
        this(manager, numLayers, inChannels, prevOutputChannels, outChannels, s, addUpsample, false);
    }

    UpBlock2D(NDManager manager, int numLayers, int inChannels, int prevOutputChannels, int outChannels,
              DownBlock2D.Settings s, boolean addUpsample, boolean attention) {
        attentions = attention ? module("attentions", new ModuleList<>()) : null;
        resnets = module("resnets", new ModuleList<>());
        // diffusers' get_up_block does not pass dropout to AttnUpBlock2D (its default 0.0 applies)
        double dropout = attention ? 0.0 : s.dropout();
        for (int i = 0; i < numLayers; i++) {
            int resSkip = i == numLayers - 1 ? inChannels : outChannels;
            int resIn = i == 0 ? prevOutputChannels : outChannels;
            resnets.add(new ResnetBlock2D(manager, resIn + resSkip, outChannels, s.tembChannels(), s.groups(), s.eps(),
                    dropout, 1.0));
            if (attention) {
                int headDim = s.attentionHeadDim() != null ? s.attentionHeadDim() : outChannels;
                attentions.add(new Attention(manager, outChannels, outChannels / headDim, headDim, s.groups(), s.eps(), true, 1.0));
            }
        }
        if (addUpsample) {
            upsamplers = module("upsamplers", new ModuleList<>());
            upsamplers.add(new Upsample2D(manager, outChannels, outChannels));
        } else {
            upsamplers = null;
        }
    }

    /**
     * @param x the incoming map (not closed)
     * @param skips the skip connections; this block removes (and closes) the last {@link #numLayers()} of them
     * @param tembAct {@code silu(temb)}
     * @param training dropout on
     * @return the block's output
     */
    public NDArray forward(NDArray x, List<NDArray> skips, NDArray tembAct, boolean training) {
        NDArray h = x;
        for (int i = 0; i < resnets.size(); i++) {
            NDArray res = skips.remove(skips.size() - 1);
            NDArray next;
            try (NDArray cat = h.concat(res, 1)) {
                next = resnets.get(i).forward(cat, tembAct, training);
            } finally {
                res.close();
                closeUnless(h, x);
            }
            h = next;
            if (attentions != null) {
                try (NDArray r = h) {
                    h = attentions.get(i).forward(r);
                }
            }
        }
        if (upsamplers != null) {
            try (NDArray r = h) {
                h = upsamplers.get(0).forward(r);
            }
        }
        return h;
    }

    /** Number of ResNet blocks (= skip connections consumed). */
    public int numLayers() {
        return resnets.size();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        // inputs: x, temb, then the skip connections in down-path order
        List<NDArray> skips = new ArrayList<>();
        for (int i = 2; i < inputs.size(); i++) {
            skips.add(inputs.get(i).duplicate());
        }
        try (NDArray act = Ops.silu(inputs.get(1))) {
            return new NDList(forward(inputs.head(), skips, act, training));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        int scale = upsamplers != null ? 2 : 1;
        return new Shape[] {new Shape(s.get(0), resnets.get(0).outChannels(), s.get(2) * scale, s.get(3) * scale)};
    }
}
