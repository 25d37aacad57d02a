package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import diffusionkit.viz.ImageGrid;

import java.awt.image.BufferedImage;

/**
 * What a pipeline returns: the samples as NCHW float32 in [-1, 1] (the model's range; diffusers' pipelines map
 * to [0, 1] only when they make PIL images) and a grid image of them. Close it to free the samples (and every
 * array made from them in their manager).
 *
 * @param images samples, NCHW in [-1, 1] (clamped)
 * @param grid the samples side by side, 8 per row
 */
public record PipelineOutput(NDArray images, BufferedImage grid) implements AutoCloseable {

    static PipelineOutput of(NDArray images) {
        NDArray clamped = images.clip(-1f, 1f);
        images.close();
        return new PipelineOutput(clamped, ImageGrid.of(clamped, 8));
    }

    @Override
    public void close() {
        images.getManager().close();
    }
}
