package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * What {@link GuidedSampler#sample} returns: the samples (NCHW float32, clamped to [-1, 1]), a grid image of them,
 * and one {@link GuidanceStep} per denoising step. Close it to free the samples.
 *
 * @param images samples, NCHW in [-1, 1]
 * @param grid the samples side by side, 8 per row
 * @param steps the loss, gradient norm and factor of every step, in order
 */
public record GuidedOutput(NDArray images, BufferedImage grid, List<GuidanceStep> steps) implements AutoCloseable {

    /** The unscaled guidance loss of every step (of x̂_0 before the step's update). */
    public double[] losses() {
        return steps.stream().mapToDouble(GuidanceStep::loss).toArray();
    }

    @Override
    public void close() {
        images.getManager().close();
    }
}
