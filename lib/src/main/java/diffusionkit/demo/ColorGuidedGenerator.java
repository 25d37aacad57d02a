package diffusionkit.demo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.guidance.ClipGuidance;
import diffusionkit.guidance.ColorLoss;
import diffusionkit.guidance.GuidanceLoss;
import diffusionkit.guidance.GuidanceVariant;
import diffusionkit.guidance.GuidedOutput;
import diffusionkit.guidance.GuidedSampler;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.util.Scalars;
import diffusionkit.viz.ImageGrid;

import java.awt.image.BufferedImage;
import java.util.function.IntConsumer;

/**
 * The course's Gradio demo function in Java: one image from seeded noise, DDIM, with the colour loss applied to the
 * predicted x0 at every step (variant 1: the gradient through the x0 formula only), scaled by the request's guidance
 * scale. The image (without a grid border) is enlarged with nearest neighbours to about {@code displaySize} pixels
 * so a small model's output reads well. {@code ./kit demo} and notebook 1 both serve this generator.
 *
 * <p><b>What the scale means.</b> Exactly the course's {@code loss = color_loss(x0, target) * guidance_loss_scale}
 * on its one image. The loss is a mean over the image's 3 × H × W values, so on the base model's 32x32 images a
 * scale pushes each pixel 64 times as hard as the same scale on the course's 256x256 images: about what a model
 * this small needs (notebook 1 guides its 8-image grids with 40 times the course's push per pixel, the push of
 * scale 3.1 here), and the page's default 3 and the course's two examples visibly tint the image. On a 256x256
 * model (the course's {@code google/ddpm-celebahq-256}) the scale is the course's exactly.
 *
 * <p>Measured on {@code datasets/models/emoji-base}, 40 steps (the page's default), seeds 0 to 3: the distance
 * between the image's mean colour and the target (Euclidean, RGB 0-255), mean of the 4 seeds.
 * <pre>
 * target    scale 0    0.5    1      1.875  3      5      10     30
 * #55FFAA   171.2      159.0  146.5  123.2  93.9   61.9   33.1   10.9
 * #BB2266   108.1                    68.6   55.2                 13.9     (the course's example: scale 3)
 * #44CCAA   133.1      (3.125: 61.9)               43.2          13.3     (the course's example: scale 5)
 * </pre>
 * At 3 the emoji keeps its shape in the target's hue; at 10 it is strongly tinted; at 30 it is a flat field of
 * the colour. For comparison, converting the page's scale per pixel instead: 40 times the course's push per pixel
 * turns 3 into 1.875 (123.2, a weaker tint than 3), and the 10 times that notebook 1's demo cell once used turns it
 * into 0.47 (about 160: barely tinted).
 *
 * <p><b>A prompt.</b> Given a CLIP ({@link #withClip}), a request with a prompt adds CLIP guidance: the loss becomes
 * {@code scale * color_loss + prompt_scale * clip_loss}, the course's {@code clip_loss} with 4 augmented cuts
 * ({@link ClipGuidance}), both through the x0 formula. Without a prompt the image is exactly the colour-guided one.
 */
public final class ColorGuidedGenerator implements ImageGenerator {

    private final DiffusionPipeline pipeline;
    private final int displaySize;
    private final ClipModel clip;
    private final ClipTokenizer tokenizer;

    /** A generator over {@code pipeline}, enlarging images to about {@code displaySize} pixels. */
    public ColorGuidedGenerator(DiffusionPipeline pipeline, int displaySize) {
        this(pipeline, displaySize, null, null);
    }

    private ColorGuidedGenerator(DiffusionPipeline pipeline, int displaySize, ClipModel clip, ClipTokenizer tokenizer) {
        this.pipeline = pipeline;
        this.displaySize = displaySize;
        this.clip = clip;
        this.tokenizer = tokenizer;
    }

    /** The same generator, taking prompts too: CLIP guidance with this model (not closed by the generator). */
    public ColorGuidedGenerator withClip(ClipModel model, ClipTokenizer tokenizer) {
        return new ColorGuidedGenerator(pipeline, displaySize, model, tokenizer);
    }

    @Override
    public boolean takesPrompts() {
        return clip != null;
    }

    @Override
    public BufferedImage generate(DemoRequest r, IntConsumer progress) throws java.io.IOException {
        if (!r.hasPrompt()) {
            return generate(r, ColorLoss.of(r.rgb()[0], r.rgb()[1], r.rgb()[2]), r.scale(), progress);
        }
        if (clip == null) {
            throw new DemoRequest.BadRequest(DemoRequest.NO_CLIP);
        }
        ColorLoss colour = ColorLoss.of(r.rgb()[0], r.rgb()[1], r.rgb()[2]);
        try (NDManager m = clip.getLogitScale().getManager().newSubManager();
                ClipGuidance text = ClipGuidance.builder().optModel(clip, tokenizer).setPrompt(r.prompt()).optCuts(4)
                        .optSeed(r.seed()).build(m)) {
            GuidanceLoss both = x0 -> {
                NDArray c = Scalars.mul(colour.loss(x0), r.scale());
                return c.add(Scalars.mul(text.loss(x0), r.promptScale()));
            };
            return generate(r, both, 1, progress);
        }
    }

    private BufferedImage generate(DemoRequest r, GuidanceLoss loss, double scale, IntConsumer progress) {
        GuidedSampler sampler = GuidedSampler.builder()
                .setPipeline(pipeline)
                .setLoss(loss)
                .optVariant(GuidanceVariant.X0_ONLY)
                .optGuidanceScale(scale)
                .optStepCallback((i, t, x, x0) -> progress.accept(i + 1))
                .build();
        try (GuidedOutput out = sampler.sample(1, r.steps(), r.seed())) {
            BufferedImage img = ImageGrid.of(out.images(), 1, 0);   // the image alone, no grid border
            int factor = Math.max(1, displaySize / Math.max(1, img.getWidth()));
            return ImageGrid.upscale(img, factor);
        }
    }
}
