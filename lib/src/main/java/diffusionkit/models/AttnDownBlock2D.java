package diffusionkit.models;

import ai.djl.ndarray.NDManager;

/** diffusers' {@code AttnDownBlock2D}: a {@link DownBlock2D} with an {@link Attention} after each ResNet block. */
public final class AttnDownBlock2D extends DownBlock2D {

    /**
     * @param manager where the parameters live
     * @param numLayers ResNet + attention pairs
     * @param inChannels input channels
     * @param outChannels output channels
     * @param s shared settings (attention groups = ResNet groups, as diffusers)
     * @param addDownsample whether to halve the resolution at the end
     * @param downsamplePadding the downsampling conv's padding
     */
    public AttnDownBlock2D(NDManager manager, int numLayers, int inChannels, int outChannels, Settings s,
                           boolean addDownsample, int downsamplePadding) {
        super(manager, numLayers, inChannels, outChannels, s, addDownsample, downsamplePadding, true);
    }
}
