package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import diffusionkit.models.NoisePredictor;
import diffusionkit.schedulers.Scheduler;

/**
 * Where the denoising loop stands when it asks a {@link NoiseGuide} for a step's noise prediction.
 *
 * @param index 0-based index of the step (the course's {@code i})
 * @param timestep the timestep t the model sees
 * @param count the number of steps of the run
 * @param model the noise model
 * @param scheduler the scheduler (its timesteps are set)
 * @param labels [N] int64 class labels for a class-conditioned model, else null
 */
public record DenoisingStep(int index, long timestep, int count, NoisePredictor model, Scheduler scheduler,
        NDArray labels) {

    /** The plain noise prediction {@code ε̂ = model(scaleModelInput(x, t), t, labels)}, on x's manager. */
    public NDArray predictNoise(NDArray x) {
        return model.forward(scheduler.scaleModelInput(x, timestep), timestep, labels);
    }
}
