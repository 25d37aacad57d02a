package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

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

    /** The model's output for {@code sample} at one timestep, inference (dropout off). */
    default NDArray forward(NDArray sample, long timestep, NDArray classLabels) {
        try (NDArray t = sample.getManager().create(new long[] {timestep})) {
            return forward(sample, t, classLabels, false);
        }
    }

    /** The trainable arrays keyed by name (live arrays that take gradients: do not close them). */
    Map<String, NDArray> stateDict();

    /** Number of scalar parameters. */
    default long numParameters() {
        return stateDict().values().stream().mapToLong(NDArray::size).sum();
    }

    /** Copies weights in; one error lists every missing, unexpected and mis-shaped key. */
    void loadStateDict(Map<String, NDArray> stateDict);

    /** The manager that owns the parameters (its device is the model's). */
    NDManager manager();

    /**
     * The shape [C, H, W] of one sample the model denoises, or null when the model does not say (a UNet config
     * without {@code sample_size}).
     */
    default Shape sampleShape() {
        return null;
    }

    /** How many classes a label may name (0: an unconditional model, which takes no labels). */
    default int numClasses() {
        return 0;
    }

    /** Whether the model has a learned "no class" label for classifier-free guidance ({@link #nullLabel()}). */
    default boolean hasNullClass() {
        return false;
    }

    /**
     * The label that means "no class" (classifier-free guidance).
     *
     * @throws IllegalStateException when the model has none ({@link #hasNullClass()} is false)
     */
    default long nullLabel() {
        throw new IllegalStateException("this model has no null class, so no classifier-free guidance: train one "
                + "with a null class (./kit train-conditional --label-dropout 0.1)");
    }

    /** Writes the model in its folder layout (diffusers' for a UNet), atomically. */
    void savePretrained(Path folder) throws IOException;

    /**
     * Copies in the weights of a folder that {@link #savePretrained} wrote for a model of the same configuration
     * (how a training checkpoint's model is read back on resume).
     *
     * @throws IOException when the folder is missing or damaged, or its weights do not fit (the message says which)
     */
    default void loadPretrained(Path folder) throws IOException {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot read its weights back from a "
                + "folder: implement NoisePredictor.loadPretrained to resume its training");
    }

    /** Frees the parameters. */
    @Override
    void close();
}
