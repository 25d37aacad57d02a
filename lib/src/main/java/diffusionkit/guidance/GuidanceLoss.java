package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;

/**
 * A loss on the model's predicted clean image that steers sampling, as the course's {@code color_loss} and
 * {@code clip_loss}: lower is better. The {@link GuidedSampler} takes its gradient with respect to the noisy sample
 * and moves the sample against it.
 *
 * <p>The loss must be built from NDArray operations only (no {@code toFloatArray} round trips), so that the
 * gradient flows through it.
 */
@FunctionalInterface
public interface GuidanceLoss {

    /**
     * The loss of a batch of predicted clean images.
     *
     * @param predOriginalSample x̂_0, NCHW float32 in [-1, 1] (the model's range; not clamped)
     * @return a scalar NDArray (differentiable with respect to {@code predOriginalSample})
     */
    NDArray loss(NDArray predOriginalSample);
}
