package diffusionkit.schedulers;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * A diffusion noise scheduler, as diffusers' {@code SchedulerMixin}: the noise schedule for
 * training ({@link #addNoise}) and the reverse process for sampling ({@link #setTimesteps},
 * {@link #timesteps}, {@link #step}).
 *
 * <pre>{@code
 * scheduler.setTimesteps(50);
 * for (long t : scheduler.timesteps()) {
 *     NDArray eps = unet.forward(x, t);
 *     x = scheduler.step(eps, t, x, generator).prevSample();
 * }
 * }</pre>
 */
public interface Scheduler {

    /**
     * Loads a scheduler from a {@code scheduler_config.json} (or the folder holding it); the class
     * is chosen by its {@code _class_name} (DDPMScheduler or DDIMScheduler).
     */
    static Scheduler load(Path fileOrFolder) throws IOException {
        SchedulerConfig c = SchedulerConfig.load(fileOrFolder);
        try {
            return fromConfig(c);
        } catch (IllegalArgumentException e) {
            throw new diffusionkit.io.CheckpointException(e.getMessage(), e);
        }
    }

    /**
     * Loads the scheduler of a hub id (a pipeline repository's {@code scheduler/}, or a repository with
     * {@code scheduler_config.json}), kit model name or folder path: {@code DDPMScheduler.from_pretrained(id,
     * subfolder="scheduler")}; see {@link Pretrained}.
     */
    static Scheduler fromPretrained(String idOrPath) throws IOException {
        return load(Pretrained.scheduler(idOrPath));
    }

    /** The scheduler a config's {@code _class_name} names (DDPMScheduler or DDIMScheduler). */
    static Scheduler fromConfig(SchedulerConfig config) {
        String cls = config.className();
        if (SchedulerConfig.DDPM.equals(cls)) {
            return new DDPMScheduler(config);
        }
        if (SchedulerConfig.DDIM.equals(cls)) {
            return new DDIMScheduler(config);
        }
        throw new IllegalArgumentException("scheduler config " + config.source() + ": \"_class_name\" is '" + cls
                + "', which diffusion-kit does not implement: use DDPMScheduler or DDIMScheduler, e.g. "
                + "new DDIMScheduler(config) (which converts the config as diffusers' from_config does)");
    }

    /** The resolved configuration (diffusers' {@code scheduler.config}). */
    SchedulerConfig config();

    /** {@code num_train_timesteps}: N, the length of the training noise schedule. */
    int numTrainTimesteps();

    /** β_t for t = 0..N−1 (float32, a copy). */
    float[] betas();

    /** α_t = 1 − β_t (float32, a copy). */
    float[] alphas();

    /** ᾱ_t = ∏ α_s, diffusers' {@code alphas_cumprod} (float32, a copy). */
    float[] alphasCumprod();

    /** ᾱ as a float32 NDArray [N] on {@code manager}'s device. */
    default NDArray alphasCumprod(NDManager manager) {
        return manager.create(alphasCumprod());
    }

    /** The standard deviation of the initial noise x_T (1 for DDPM and DDIM). */
    default float initNoiseSigma() {
        return 1f;
    }

    /**
     * Chooses the {@code numInferenceSteps} timesteps of sampling, by {@code timestep_spacing}.
     *
     * @throws IllegalArgumentException if numInferenceSteps is not in [1, num_train_timesteps]
     */
    void setTimesteps(int numInferenceSteps);

    /** The sampling timesteps, descending (all N training steps until {@link #setTimesteps} is called). */
    long[] timesteps();

    /** The number given to {@link #setTimesteps}, empty before. */
    OptionalInt numInferenceSteps();

    /** The timestep {@link #step} goes to from {@code timestep} (negative past the end). */
    long previousTimestep(long timestep);

    /** Scales the model input for this timestep: the identity for DDPM and DDIM. */
    default NDArray scaleModelInput(NDArray sample, long timestep) {
        return sample;
    }

    /**
     * One reverse step x_t → x_{t−1} with the scheduler's default options (DDIM: eta = 0); noise,
     * where the step adds any, comes from {@code generator} (null: the engine's random generator).
     */
    SchedulerOutput step(NDArray modelOutput, long timestep, NDArray sample, SeededNoise generator);

    /**
     * The forward process q(x_t | x_0): √ᾱ_t·x_0 + √(1−ᾱ_t)·noise.
     *
     * @param originalSamples x_0, [B, ...]
     * @param noise           ε, same shape
     * @param timesteps       int64 (or int32) [B], [1] or a scalar
     */
    NDArray addNoise(NDArray originalSamples, NDArray noise, NDArray timesteps);

    /** {@link #addNoise(NDArray, NDArray, NDArray)} with one timestep for the whole batch. */
    NDArray addNoise(NDArray originalSamples, NDArray noise, long timestep);

    /** The v-prediction target v = √ᾱ_t·noise − √(1−ᾱ_t)·sample (Salimans and Ho 2022). */
    NDArray getVelocity(NDArray sample, NDArray noise, NDArray timesteps);

    /** Writes {@code scheduler_config.json} into {@code folder}, as diffusers' {@code save_pretrained}. */
    default void save(Path folder) throws IOException {
        config().save(folder);
    }
}
