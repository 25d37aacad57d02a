package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import diffusionkit.util.Scalars;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Denoising diffusion implicit models (Song et al. 2021, eq. 12), a port of diffusers v0.31
 * {@code DDIMScheduler}.
 *
 * <p>One step from t to t' = t − N/n: x̂_0 and ε̂ from the model output (x̂_0 optionally clipped),
 * σ_t = η·√((1−ᾱ_{t'})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t'})), and
 * x_{t'} = √ᾱ_{t'}·x̂_0 + √(1−ᾱ_{t'}−σ_t²)·ε̂ + σ_t·z. η = 0 is deterministic DDIM, η = 1 is DDPM-like.
 * Past the end (t' < 0) ᾱ_{t'} is 1 ({@code set_alpha_to_one}) or ᾱ_0.
 *
 * <p>{@link #setTimesteps} must be called before {@code step}, as in diffusers.
 */
public final class DDIMScheduler extends BaseScheduler {

    private final float finalAlphaCumprod;

    /** A DDIM scheduler with diffusers' default config. */
    public DDIMScheduler() {
        this(SchedulerConfig.of(SchedulerConfig.DDIM));
    }

    /**
     * A DDIM scheduler for {@code config}; a DDPM config is converted as diffusers'
     * {@code DDIMScheduler.from_config(ddpm.config)} does (variance_type dropped, set_alpha_to_one added).
     *
     * @throws IllegalArgumentException when the config holds a value this scheduler does not support
     */
    public DDIMScheduler(SchedulerConfig config) {
        super(config, SchedulerConfig.DDIM);
        this.finalAlphaCumprod = this.config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    /** Diffusers' {@code DDIMScheduler.from_config(config)}, e.g. of a DDPM scheduler's config. */
    public static DDIMScheduler fromConfig(SchedulerConfig config) {
        return new DDIMScheduler(config);
    }

    /** Loads {@code scheduler_config.json} (file or folder) as a DDIM scheduler (converting a DDPM one). */
    public static DDIMScheduler load(Path fileOrFolder) throws IOException {
        SchedulerConfig c = SchedulerConfig.load(fileOrFolder);
        try {
            return new DDIMScheduler(c);
        } catch (IllegalArgumentException e) {
            throw new diffusionkit.io.CheckpointException(e.getMessage(), e);
        }
    }

    /** ᾱ used past the last step: 1 when set_alpha_to_one, else ᾱ_0. */
    public float finalAlphaCumprod() {
        return finalAlphaCumprod;
    }

    /**
     * t − num_train_timesteps / num_inference_steps.
     *
     * @throws IllegalStateException before {@link #setTimesteps}
     */
    @Override
    public long previousTimestep(long timestep) {
        requireTimesteps();
        return timestep - numTrainTimesteps / numInferenceSteps;
    }

    private void requireTimesteps() {
        if (numInferenceSteps == null) {
            throw new IllegalStateException("DDIMScheduler: the number of inference steps is not set: call "
                    + "setTimesteps(numInferenceSteps) after creating the scheduler and before step (as in diffusers)");
        }
    }

    /** (1−ᾱ_{t'})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t'}), diffusers' {@code _get_variance(timestep, prev_timestep)}. */
    public float variance(long timestep, long prevTimestep) {
        float alphaProdT = alphaCumprodAt(timestep);
        float alphaProdTPrev = prevTimestep >= 0 ? alphaCumprodAt(prevTimestep) : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        return (betaProdTPrev / betaProdT) * (1f - alphaProdT / alphaProdTPrev);
    }

    /** σ_t = η·√variance of the step from {@code timestep} (requires {@link #setTimesteps}). */
    public float stdDev(long timestep, float eta) {
        return eta * sqrt(variance(timestep, previousTimestep(timestep)));
    }

    /** A deterministic step (η = 0). */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample) {
        return step(modelOutput, timestep, sample, 0f, false, null, null);
    }

    /** A deterministic step (η = 0, so {@code generator} is not used); see {@link #step(NDArray, long, NDArray, float, SeededNoise)}. */
    @Override
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, SeededNoise generator) {
        return step(modelOutput, timestep, sample, 0f, false, generator, null);
    }

    /** A step with noise weight {@code eta}; noise (when eta > 0) from the engine's random generator. */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, float eta) {
        return step(modelOutput, timestep, sample, eta, false, null, null);
    }

    /** A step with noise weight {@code eta}; noise from {@code generator} (null: the engine's). */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, float eta, SeededNoise generator) {
        return step(modelOutput, timestep, sample, eta, false, generator, null);
    }

    /** A step with noise weight {@code eta} that adds σ_t·{@code varianceNoise}. */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, float eta, NDArray varianceNoise) {
        return step(modelOutput, timestep, sample, eta, false, null, varianceNoise);
    }

    /**
     * One DDIM step, as diffusers' {@code step(model_output, timestep, sample, eta,
     * use_clipped_model_output, generator, variance_noise)}.
     *
     * @param modelOutput           the model's prediction (by prediction_type) at {@code timestep}
     * @param timestep              t, one of {@link #timesteps()}
     * @param sample                x_t
     * @param eta                   η ≥ 0, the weight of the added noise
     * @param useClippedModelOutput recompute ε̂ from the clipped x̂_0
     * @param generator             noise source when η > 0 (null: varianceNoise or the engine's generator)
     * @param varianceNoise         explicit noise z when η > 0 (not together with a generator)
     * @throws IllegalStateException    before {@link #setTimesteps}
     * @throws IllegalArgumentException for a timestep outside the schedule, or both generator and noise
     */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, float eta,
            boolean useClippedModelOutput, SeededNoise generator, NDArray varianceNoise) {
        requireTimesteps();
        checkStepInputs(modelOutput, sample);
        if (eta < 0 || Float.isNaN(eta)) {
            throw new IllegalArgumentException("eta must be >= 0 (0: DDIM, 1: DDPM-like), got " + eta);
        }
        // 1. previous timestep t' = t - N/n
        long prevTimestep = previousTimestep(timestep);

        // 2. alphas, betas
        float alphaProdT = alphaCumprodAt(timestep);                                            // ᾱ_t
        float alphaProdTPrev = prevTimestep >= 0 ? alphaCumprodAt(prevTimestep) : finalAlphaCumprod; // ᾱ_{t'}
        float betaProdT = 1f - alphaProdT;                                                      // 1 − ᾱ_t

        try (NDScope scope = new NDScope()) {
            // 3. predicted x_0 and ε (eq. 12)
            NDArray predOriginalSample;
            NDArray predEpsilon;
            switch (config.predictionType()) {
                case "epsilon" -> {
                    predOriginalSample = Scalars.div(sample.sub(Scalars.mul(modelOutput, sqrt(betaProdT))), sqrt(alphaProdT));
                    predEpsilon = modelOutput;
                }
                case "sample" -> {
                    predOriginalSample = modelOutput;
                    predEpsilon = Scalars.div(sample.sub(Scalars.mul(predOriginalSample, sqrt(alphaProdT))), sqrt(betaProdT));
                }
                case "v_prediction" -> {
                    predOriginalSample = Scalars.mul(sample, sqrt(alphaProdT)).sub(Scalars.mul(modelOutput, sqrt(betaProdT)));
                    predEpsilon = Scalars.mul(modelOutput, sqrt(alphaProdT)).add(Scalars.mul(sample, sqrt(betaProdT)));
                }
                default -> throw new IllegalArgumentException("prediction_type '" + config.predictionType()
                        + "' must be one of " + SchedulerConfig.PREDICTION_TYPES);
            }

            // 4. clip x_0
            if (config.clipSample()) {
                float r = (float) config.clipSampleRange();
                predOriginalSample = predOriginalSample.clip(-r, r);
            }

            // 5. σ_t = η·√variance
            float variance = variance(timestep, prevTimestep);
            float stdDevT = eta * sqrt(variance);

            if (useClippedModelOutput) {
                // ε̂ recomputed from the clipped x̂_0
                predEpsilon = Scalars.div(sample.sub(Scalars.mul(predOriginalSample, sqrt(alphaProdT))), sqrt(betaProdT));
            }

            // 6. direction pointing to x_t: √(1−ᾱ_{t'}−σ_t²)·ε̂
            NDArray predSampleDirection = Scalars.mul(predEpsilon, sqrt(1f - alphaProdTPrev - stdDevT * stdDevT));

            // 7. x_{t'} = √ᾱ_{t'}·x̂_0 + direction
            NDArray prevSample = Scalars.mul(predOriginalSample, sqrt(alphaProdTPrev)).add(predSampleDirection);

            if (eta > 0) {
                if (varianceNoise != null && generator != null) {
                    throw new IllegalArgumentException("pass either a generator or varianceNoise to DDIMScheduler.step, "
                            + "not both");
                }
                NDArray z = noiseLike(modelOutput, varianceNoise, generator);
                prevSample = prevSample.add(Scalars.mul(z, stdDevT));
            }
            NDScope.unregister(prevSample, predOriginalSample);
            return new SchedulerOutput(prevSample, predOriginalSample);
        }
    }
}
