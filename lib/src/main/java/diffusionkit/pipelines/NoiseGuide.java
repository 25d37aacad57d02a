package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;

/**
 * The per-step hook of {@link DiffusionPipeline}'s one denoising loop: given x_t, the noise prediction to step with
 * and the sample to step from. The loop is
 * <pre>
 *   for i, t in enumerate(scheduler.timesteps):
 *       ε̂, x = guide(step(i, t), x)          # plain: ε̂ = model(x, t, labels), x unchanged
 *       x = scheduler.step(ε̂, t, x).prev_sample
 *       callback(i, t, x, x̂_0)
 * </pre>
 * {@link #NONE} is the plain model; {@link #classifierFree(double)} is classifier-free guidance; the loss guidance of
 * the course (colour, CLIP, a classifier) is {@code guidance.GuidedSampler}'s guide, which moves x along the
 * gradient of a loss on x̂_0. A guide runs with autograd off; it may open its own {@code GradientCollector}.
 */
@FunctionalInterface
public interface NoiseGuide {

    /** The plain model: {@code ε̂ = model(x, t, labels)}, x unchanged. */
    NoiseGuide NONE = (step, x) -> new Prediction(step.predictNoise(x), x);

    /**
     * The noise prediction and the sample for this step. Arrays may be made in {@code x}'s manager (freed when the
     * step ends).
     */
    Prediction predict(DenoisingStep step, NDArray x);

    /**
     * Whether a DDIM step should recompute ε̂ from the clipped x̂_0 (diffusers' {@code use_clipped_model_output}).
     * False by default, as diffusers' pipelines.
     */
    default boolean useClippedModelOutput() {
        return false;
    }

    /**
     * Classifier-free guidance with scale {@code w}: {@code ε̂ = ε̂_uncond + w (ε̂_cond − ε̂_uncond)}; 1 is the plain
     * model. See {@link ClassifierFreeGuidance}.
     */
    static NoiseGuide classifierFree(double w) {
        return w == 1.0 ? NONE : new ClassifierFreeGuidance(w);
    }

    /**
     * What a guide returns.
     *
     * @param noisePred ε̂ to step with
     * @param sample the sample to step from (x itself, or x moved by guidance)
     */
    record Prediction(NDArray noisePred, NDArray sample) {}
}
