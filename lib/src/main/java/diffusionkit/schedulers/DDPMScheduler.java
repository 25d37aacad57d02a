package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import diffusionkit.util.Scalars;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Denoising diffusion probabilistic models (Ho et al. 2020, Algorithm 2), a port of diffusers v0.31
 * {@code DDPMScheduler}.
 *
 * <p>One step: x̂_0 from the model output (eq. 15), optionally clipped to ±clip_sample_range; the
 * posterior mean μ̃_t = (√ᾱ_{t'}·β̄_t/(1−ᾱ_t))·x̂_0 + (√ᾱ_t/ᾱ_{t'}·(1−ᾱ_{t'})/(1−ᾱ_t))·x_t (eq. 7,
 * with t' the previous timestep and β̄_t = 1 − ᾱ_t/ᾱ_{t'}); for t > 0 noise σ_t·z is added, with
 * σ_t² = (1−ᾱ_{t'})/(1−ᾱ_t)·β̄_t ({@code fixed_small}) or β̄_t ({@code fixed_large}).
 *
 * <p>Without {@link #setTimesteps} the step goes from t to t − 1 (all training timesteps), as in
 * diffusers.
 */
public final class DDPMScheduler extends BaseScheduler {

    private boolean customTimesteps;

    /** A DDPM scheduler with diffusers' default config (1000 steps, linear 1e-4..0.02). */
    public DDPMScheduler() {
        this(SchedulerConfig.of(SchedulerConfig.DDPM));
    }

    /**
     * A DDPM scheduler for {@code config} (a config of another scheduler class is converted as by
     * diffusers' {@code DDPMScheduler.from_config}).
     *
     * @throws IllegalArgumentException when the config holds a value this scheduler does not support
     */
    public DDPMScheduler(SchedulerConfig config) {
        super(config, SchedulerConfig.DDPM);
    }

    /** Diffusers' {@code DDPMScheduler.from_config(config)}. */
    public static DDPMScheduler fromConfig(SchedulerConfig config) {
        return new DDPMScheduler(config);
    }

    /** Loads {@code scheduler_config.json} (file or folder) as a DDPM scheduler. */
    public static DDPMScheduler load(Path fileOrFolder) throws IOException {
        SchedulerConfig c = SchedulerConfig.load(fileOrFolder);
        try {
            return new DDPMScheduler(c);
        } catch (IllegalArgumentException e) {
            throw new diffusionkit.io.CheckpointException(e.getMessage(), e);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        super.setTimesteps(numInferenceSteps);
        customTimesteps = false;
    }

    /**
     * Custom timesteps (diffusers' {@code set_timesteps(timesteps=[...])}): strictly descending,
     * the first below num_train_timesteps; each step then goes to the next entry.
     */
    public void setTimesteps(long[] customTimesteps) {
        if (customTimesteps.length == 0) {
            throw new IllegalArgumentException("custom timesteps are empty: pass at least one timestep");
        }
        for (int i = 1; i < customTimesteps.length; i++) {
            if (customTimesteps[i] >= customTimesteps[i - 1]) {
                throw new IllegalArgumentException("custom timesteps must be in descending order, but entry " + i + " ("
                        + customTimesteps[i] + ") >= entry " + (i - 1) + " (" + customTimesteps[i - 1] + ")");
            }
        }
        if (customTimesteps[0] >= numTrainTimesteps) {
            throw new IllegalArgumentException("custom timesteps must start below num_train_timesteps " + numTrainTimesteps
                    + ", got " + customTimesteps[0]);
        }
        if (customTimesteps[customTimesteps.length - 1] < 0) {
            throw new IllegalArgumentException("custom timesteps must be >= 0, got " + customTimesteps[customTimesteps.length - 1]);
        }
        this.timesteps = customTimesteps.clone();
        this.numInferenceSteps = null;
        this.customTimesteps = true;
    }

    @Override
    public long previousTimestep(long timestep) {
        if (customTimesteps) {
            for (int i = 0; i < timesteps.length; i++) {
                if (timesteps[i] == timestep) {
                    return i == timesteps.length - 1 ? -1 : timesteps[i + 1];
                }
            }
            throw new IllegalArgumentException("timestep " + timestep + " is not one of the custom timesteps given to "
                    + "setTimesteps(long[]): step through timesteps()");
        }
        int n = numInferenceSteps != null ? numInferenceSteps : numTrainTimesteps;
        return timestep - numTrainTimesteps / n;
    }

    /**
     * σ_t² of the step from {@code timestep} (diffusers' {@code _get_variance}): fixed_small
     * (1−ᾱ_{t'})/(1−ᾱ_t)·β̄_t clamped to ≥ 1e-20, or fixed_large β̄_t.
     */
    public float variance(long timestep) {
        long prevT = previousTimestep(timestep);
        float alphaProdT = alphaCumprodAt(timestep);                                  // ᾱ_t
        float alphaProdTPrev = prevT >= 0 ? alphaCumprodAt(prevT) : 1f;               // ᾱ_{t'}
        float currentBetaT = 1f - alphaProdT / alphaProdTPrev;                        // β̄_t
        float variance = (1f - alphaProdTPrev) / (1f - alphaProdT) * currentBetaT;
        variance = Math.max(variance, 1e-20f);
        return "fixed_large".equals(config.varianceType()) ? currentBetaT : variance;
    }

    /** A step whose noise (for t > 0) comes from the engine's random generator. */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample) {
        return step(modelOutput, timestep, sample, null, null);
    }

    /** A step whose noise (for t > 0) is drawn from {@code generator} (null: the engine's generator). */
    @Override
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, SeededNoise generator) {
        return step(modelOutput, timestep, sample, null, generator);
    }

    /** A step that adds σ_t·{@code varianceNoise} (for t > 0; the array has the sample's shape). */
    public SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, NDArray varianceNoise) {
        return step(modelOutput, timestep, sample, varianceNoise, null);
    }

    private SchedulerOutput step(NDArray modelOutput, long t, NDArray sample, NDArray varianceNoise, SeededNoise generator) {
        checkStepInputs(modelOutput, sample);
        long prevT = previousTimestep(t);

        // 1. alphas, betas
        float alphaProdT = alphaCumprodAt(t);                                         // ᾱ_t
        float alphaProdTPrev = prevT >= 0 ? alphaCumprodAt(prevT) : 1f;               // ᾱ_{t'}
        float betaProdT = 1f - alphaProdT;                                            // 1 − ᾱ_t
        float betaProdTPrev = 1f - alphaProdTPrev;                                    // 1 − ᾱ_{t'}
        float currentAlphaT = alphaProdT / alphaProdTPrev;                            // ᾱ_t / ᾱ_{t'}
        float currentBetaT = 1f - currentAlphaT;                                      // β̄_t

        try (NDScope scope = new NDScope()) {
            // 2. predicted x_0 (eq. 15)
            NDArray predOriginalSample = switch (config.predictionType()) {
                case "epsilon" -> Scalars.div(sample.sub(Scalars.mul(modelOutput, sqrt(betaProdT))), sqrt(alphaProdT));
                case "sample" -> modelOutput;
                case "v_prediction" -> Scalars.mul(sample, sqrt(alphaProdT)).sub(Scalars.mul(modelOutput, sqrt(betaProdT)));
                default -> throw new IllegalArgumentException("prediction_type '" + config.predictionType()
                        + "' must be one of " + SchedulerConfig.PREDICTION_TYPES);
            };

            // 3. clip x_0
            if (config.clipSample()) {
                float r = (float) config.clipSampleRange();
                predOriginalSample = predOriginalSample.clip(-r, r);
            }

            // 4.-5. posterior mean μ̃_t (eq. 7)
            float predOriginalSampleCoeff = (sqrt(alphaProdTPrev) * currentBetaT) / betaProdT;
            float currentSampleCoeff = sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
            NDArray prevSample = Scalars.mul(predOriginalSample, predOriginalSampleCoeff).add(Scalars.mul(sample, currentSampleCoeff));

            // 6. add noise σ_t·z for t > 0
            if (t > 0) {
                NDArray z = noiseLike(modelOutput, varianceNoise, generator);
                prevSample = prevSample.add(Scalars.mul(z, sqrt(variance(t))));
            }
            NDScope.unregister(prevSample, predOriginalSample);
            return new SchedulerOutput(prevSample, predOriginalSample);
        }
    }
}
