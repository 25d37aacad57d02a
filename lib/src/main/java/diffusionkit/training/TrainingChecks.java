package diffusionkit.training;

import ai.djl.ndarray.NDArray;
import diffusionkit.util.NonFiniteException;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The check every trainer of the kit makes after a backward pass and before the optimiser step: the loss and every
 * parameter's gradient must be finite. A NaN or infinity stops the run with {@link NonFiniteException} (the step,
 * what went wrong, the last checkpoint and the likely causes); the weights keep their last good values, since the
 * update is not made, and the gradients are zeroed.
 */
public final class TrainingChecks {

    private TrainingChecks() {}

    /**
     * Throws when {@code loss} or a gradient of {@code parameters} is NaN or infinite.
     *
     * @param trainer what trains, for the message ("fine-tuning", "the class-conditioned model", ...)
     * @param loss the step's loss
     * @param parameters the parameters whose gradients the optimiser is about to use
     * @param step the step (1-based)
     * @param epoch its epoch
     * @param learningRate the step's learning rate
     * @param lastCheckpoint the newest checkpoint, or null; asked only when the run stops
     * @throws NonFiniteException when anything is not finite
     */
    public static void requireFinite(String trainer, double loss, Map<String, NDArray> parameters, long step, int epoch,
                                     double learningRate, Supplier<Path> lastCheckpoint) {
        String what = null;
        if (!Double.isFinite(loss)) {
            what = "the loss is " + loss;
        } else {
            String bad = firstNonFiniteGradient(parameters);
            if (bad != null) {
                what = "the gradient of '" + bad + "' is NaN or infinite (the loss, " + loss + ", was finite)";
            }
        }
        if (what != null) {
            AdamW.zeroGradients(parameters);
            throw NonFiniteException.training(trainer, what, step, epoch, learningRate, lastCheckpoint.get());
        }
    }

    /**
     * A lesson's check of a finished run: every loss finite and, over 10 steps or more, the mean of the last fifth of
     * the steps below that of the first fifth (one step's loss depends on its random timesteps, so single steps are
     * not compared).
     *
     * @return what was found, e.g. "60 losses, all finite; the loss fell from 0.0753 (mean of steps 1-12) to 0.0552
     *     (steps 49-60)"
     * @throws IllegalStateException when a loss is not finite or the loss did not fall
     */
    public static String requireFiniteAndFalling(List<Double> losses) {
        for (int i = 0; i < losses.size(); i++) {
            if (!Double.isFinite(losses.get(i))) {
                throw new IllegalStateException("the loss of step " + (i + 1) + " is " + losses.get(i));
            }
        }
        int n = losses.size();
        if (n < 10) {
            return String.format(Locale.ROOT, "%d losses, all finite (too few steps to judge a trend)", n);
        }
        int k = n / 5;
        double first = losses.subList(0, k).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = losses.subList(n - k, n).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        String found = String.format(Locale.ROOT, "%d losses, all finite; the loss fell from %.4f (mean of steps 1-%d) to "
                + "%.4f (steps %d-%d)", n, first, k, last, n - k + 1, n);
        if (!(last < first)) {
            throw new IllegalStateException("the loss did not fall: " + found.replace("fell", "went"));
        }
        return found;
    }

    /** The name of the first parameter whose gradient holds a NaN or an infinity, or null when all are finite. */
    public static String firstNonFiniteGradient(Map<String, NDArray> parameters) {
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray p = e.getValue();
            if (!p.hasGradient()) {
                continue;
            }
            // the sum of squares is finite exactly when every element is (short of |g| > 1e19, broken anyway)
            try (NDArray g = p.getGradient(); NDArray sq = g.square(); NDArray s = sq.sum()) {
                if (!Float.isFinite(s.getFloat())) {
                    return e.getKey();
                }
            }
        }
        return null;
    }
}
