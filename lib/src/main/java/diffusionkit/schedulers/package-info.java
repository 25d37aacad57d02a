/**
 * Noise schedulers, ported from Hugging Face diffusers v0.31 and numerically faithful to it:
 * {@link diffusionkit.schedulers.DDPMScheduler} (Ho et al. 2020) and
 * {@link diffusionkit.schedulers.DDIMScheduler} (Song et al. 2021), their
 * {@link diffusionkit.schedulers.SchedulerConfig} ({@code scheduler_config.json}), beta schedules and
 * timestep spacings.
 *
 * <p>A scheduler knows the noise schedule: {@code addNoise} makes training inputs
 * x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε, {@code setTimesteps} chooses the sampling timesteps and {@code step}
 * goes from x_t to x_{t−1} given the model's output. The step math is NDArray operations, so
 * gradients flow through it (guidance differentiates through {@code predOriginalSample}).
 */
package diffusionkit.schedulers;
