package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model that predicts the noise in a noisy sample: what the training loop trains and the samplers call.
 * {@link UNet2DModel} is one; the course's class-conditioned wrapper is another.
 */
public interface NoisePredictor extends AutoCloseable {

    /**
     * The model's output for {@code sample} at {@code timesteps}.
     *
     * @param sample noisy images [N, C, H, W]
     * @param timesteps a scalar, [1] or [N]
     * @param classLabels [N] class indices for a conditional model, else null
     * @param training whether dropout is on
     */
    NDArray forward(NDArray sample, NDArray timesteps, NDArray classLabels, boolean training);

    /** The trainable arrays keyed by name (live arrays that take gradients: do not close them). */
    Map<String, NDArray> stateDict();

    /** Copies weights in; one error lists every missing, unexpected and mis-shaped key. */
    void loadStateDict(Map<String, NDArray> stateDict);

    /** The manager that owns the parameters (its device is the model's). */
    NDManager manager();

    /** Writes the model in its folder layout (diffusers' for a UNet), atomically. */
    void savePretrained(Path folder) throws IOException;

    /** Frees the parameters. */
    @Override
    void close();
}
