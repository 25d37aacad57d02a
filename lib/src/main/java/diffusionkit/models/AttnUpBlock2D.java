package diffusionkit.models;

import ai.djl.ndarray.NDManager;

/** diffusers' {@code AttnUpBlock2D}: an {@link UpBlock2D} with an {@link Attention} after each ResNet block. */
public final class AttnUpBlock2D extends UpBlock2D {

    /**
     * @param manager where the parameters live
     * @param numLayers ResNet + attention pairs
     * @param inChannels channels of the deepest skip connection this block consumes
     * @param prevOutputChannels channels of the incoming map
     * @param outChannels output channels
     * @param s shared settings (its dropout is not used, as in diffusers)
     * @param addUpsample whether to double the resolution at the end
     */
    public AttnUpBlock2D(NDManager manager, int numLayers, int inChannels, int prevOutputChannels, int outChannels,
                         DownBlock2D.Settings s, boolean addUpsample) {
        super(manager, numLayers, inChannels, prevOutputChannels, outChannels, s, addUpsample, true);
    }
}
