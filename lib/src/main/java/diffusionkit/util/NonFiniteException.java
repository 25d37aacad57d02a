package diffusionkit.util;

import java.nio.file.Path;
import java.util.Locale;

/**
 * A loss or gradient became NaN or infinite, and the run stopped instead of going on with wrong numbers. The message
 * says where (step, epoch or sampling step), what (the loss, or which parameter's gradient), what was kept, and the
 * likely causes with their fixes.
 */
public final class NonFiniteException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final long step;

    private NonFiniteException(String message, long step) {
        super(message);
        this.step = step;
    }

    /** The training step (1-based, counting resumed steps) or the sampling loop index at which the run stopped. */
    public long step() {
        return step;
    }

    /**
     * A training run met a non-finite loss or gradient.
     *
     * @param trainer what was training ("fine-tuning", "the classifier", ...)
     * @param what "the loss is NaN", "the gradient of 'conv_out.weight' is NaN or infinite", ...
     * @param step the step that failed (1-based)
     * @param epoch its epoch (0-based)
     * @param learningRate the learning rate of that step
     * @param lastCheckpoint the newest checkpoint written, or null when there is none
     */
    public static NonFiniteException training(String trainer, String what, long step, int epoch, double learningRate,
                                              Path lastCheckpoint) {
        String kept = lastCheckpoint != null
                ? "The last good checkpoint is " + lastCheckpoint + ": resume from it after the fix."
                : "No checkpoint was written in this run (save them with save_model_every / a checkpoint folder).";
        String msg = String.format(Locale.ROOT,
                "%s stopped at step %d (epoch %d): %s. The weights were not updated with it: they are those of step %d. "
                        + "%s%nLikely causes:%n"
                        + "  - a learning rate too high for this model and batch size (it was %.3g): try one 10 times smaller;%n"
                        + "  - training images outside [-1, 1], or with NaN in them: check the data and its preprocessing;%n"
                        + "  - %s",
                capitalise(trainer), step, epoch, what, step - 1, kept, learningRate, nativesLine());
        return new NonFiniteException(msg, step);
    }

    /**
     * Guided sampling met a non-finite guidance loss or gradient.
     *
     * @param what "the guidance loss is NaN", "the guidance gradient is NaN or infinite", ...
     * @param index the loop index (0-based)
     * @param timestep its timestep
     * @param scale the guidance scale
     */
    public static NonFiniteException guidance(String what, int index, long timestep, double scale) {
        String msg = String.format(Locale.ROOT,
                "Guided sampling stopped at step %d (timestep %d): %s, so the guided image would be noise or NaN.%n"
                        + "Likely causes:%n"
                        + "  - a guidance scale too large for this loss (it was %.3g): try one 10 times smaller, or clip the "
                        + "update (optClipGradNorm);%n"
                        + "  - a guidance loss that is not finite for some images (a log or division of 0, a NaN target);%n"
                        + "  - %s",
                index, timestep, what, scale, nativesLine());
        return new NonFiniteException(msg, index);
    }

    /** The third likely cause: this CPU's natives, as the start-up check finds them. */
    private static String nativesLine() {
        String check;
        try {
            check = Convolutions.describe();
        } catch (RuntimeException e) {
            check = "the check could not run: " + e.getMessage();
        }
        return "PyTorch's CPU natives computing wrong convolution gradients (oneDNN on AVX-512 CPUs; the kit routes "
                + "the known cases around it); here: " + check + ". `./kit info` prints the CPU and this check.";
    }

    private static String capitalise(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
