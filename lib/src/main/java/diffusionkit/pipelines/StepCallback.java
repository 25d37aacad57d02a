package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;

/**
 * Called after each denoising step with the step's index, its timestep, the new sample x_{t-1} and the model's
 * prediction of the clean image x0. The arrays are freed after the call: copy what you keep
 * (e.g. {@code ImageGrid.of(x)} makes an image of it right away).
 */
@FunctionalInterface
public interface StepCallback {

    /**
     * @param stepIndex 0-based index of the step
     * @param timestep the timestep t the model saw
     * @param sample the new sample x_{t-1}, NCHW
     * @param predOriginalSample the predicted x0, NCHW
     */
    void onStep(int stepIndex, long timestep, NDArray sample, NDArray predOriginalSample);
}
