package diffusionkit.demo;

import diffusionkit.guidance.ColorLoss;
import diffusionkit.guidance.GuidanceVariant;
import diffusionkit.guidance.GuidedOutput;
import diffusionkit.guidance.GuidedSampler;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.viz.ImageGrid;

import java.awt.image.BufferedImage;
import java.util.function.IntConsumer;

/**
 * The course's Gradio demo function in Java: one image from seeded noise, DDIM, with the colour loss applied to the
 * predicted x0 at every step (variant 1: the gradient through the x0 formula only), scaled by the request's guidance
 * scale. The image is enlarged with nearest neighbours to about 256 pixels so a small model's output reads well.
 */
public final class ColorGuidedGenerator implements ImageGenerator {

    private final DiffusionPipeline pipeline;
    private final int displaySize;

    /** A generator over {@code pipeline}, enlarging images to about {@code displaySize} pixels. */
    public ColorGuidedGenerator(DiffusionPipeline pipeline, int displaySize) {
        this.pipeline = pipeline;
        this.displaySize = displaySize;
    }

    @Override
    public BufferedImage generate(DemoRequest r, IntConsumer progress) {
        GuidedSampler sampler = GuidedSampler.builder()
                .setPipeline(pipeline)
                .setLoss(ColorLoss.of(r.rgb()[0], r.rgb()[1], r.rgb()[2]))
                .optVariant(GuidanceVariant.X0_ONLY)
                .optGuidanceScale(r.scale())
                .optStepCallback((i, t, x, x0) -> progress.accept(i + 1))
                .build();
        try (GuidedOutput out = sampler.sample(1, r.steps(), r.seed())) {
            BufferedImage img = out.grid(1);
            int factor = Math.max(1, displaySize / Math.max(1, img.getWidth()));
            return ImageGrid.upscale(img, factor);
        }
    }
}
