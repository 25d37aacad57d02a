package diffusionkit.training;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Hears what a {@link DiffusionTrainer} does: notebooks use it for a live progress bar and a live loss plot; the
 * trainer's own logs ({@link LossTable}: the loss table, chart and summary) and the course's epoch line
 * ({@link EpochLossPrinter}) are listeners too. Every method has an empty default, so a listener implements only
 * what it needs. Calls come from the training thread, after the step's arrays are freed.
 */
public interface TrainingListener {

    /** When {@link DiffusionTrainer#train()} starts (after any resume), before the first update. */
    default void onTrainStart(DiffusionTrainer trainer) {}

    /**
     * After each optimiser update.
     *
     * @param step global step (1-based: the number of updates done)
     * @param epoch the epoch (0-based)
     * @param loss the update's loss: the mean of its micro-batch MSE losses
     * @param lr the learning rate that update used
     */
    default void onStep(long step, int epoch, double loss, double lr) throws IOException {}

    /** After each epoch, with the mean loss of its updates. */
    default void onEpochEnd(int epoch, double meanLoss) {}

    /** When a sample grid was made (every {@code logSamplesEvery} steps). */
    default void onSamples(long step, BufferedImage grid) {}

    /** When a checkpoint folder was written. */
    default void onCheckpoint(long step, Path path) throws IOException {}

    /** When {@link DiffusionTrainer#train()} has ended normally, after the final model was saved. */
    default void onTrainEnd(TrainingSummary summary) throws IOException {}

    /** When {@link DiffusionTrainer#train()} stops on an error (a non-finite loss), before it is thrown. */
    default void onTrainError(RuntimeException error) throws IOException {}
}
