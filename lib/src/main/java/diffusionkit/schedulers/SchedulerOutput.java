package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;

/**
 * What one {@link Scheduler#step} returns, as diffusers' {@code DDPMSchedulerOutput} /
 * {@code DDIMSchedulerOutput}.
 *
 * @param prevSample         x_{t−1}: the next input of the denoising loop
 * @param predOriginalSample x̂_0: the denoised sample predicted at this step (clipped when
 *                           {@code clip_sample}), for previews and for guidance
 */
public record SchedulerOutput(NDArray prevSample, NDArray predOriginalSample) {}
