package diffusionkit.conditional;

import diffusionkit.training.TrainingListener;

import java.io.PrintStream;
import java.util.Locale;

/** Ready-made {@link ConditionalTrainer.Listener}s for notebooks and the command line. */
public final class ConditionalProgress {

    private ConditionalProgress() {}

    /**
     * Prints the course's line after each epoch ({@code "Finished epoch 0. Average of the last 100 loss values:
     * 0.052"}) to {@code out} and passes each step to {@code steps} (e.g. a
     * {@link diffusionkit.training.LiveTrainingView}; may be null).
     */
    public static ConditionalTrainer.Listener of(PrintStream out, TrainingListener steps) {
        return new ConditionalTrainer.Listener() {
            @Override
            public void onStep(long step, int epoch, double loss, double seconds) {
                if (steps != null) {
                    steps.onStep(step, epoch, loss, Double.NaN);
                }
            }

            @Override
            public void onEpoch(int epoch, double averageOfLast100) {
                if (out != null) {
                    out.printf(Locale.ROOT, "Finished epoch %d. Average of the last 100 loss values: %.6f%n",
                            epoch, averageOfLast100);
                }
                if (steps != null) {
                    steps.onEpochEnd(epoch, averageOfLast100);
                }
            }
        };
    }
}
