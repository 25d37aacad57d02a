package diffusionkit.training;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line console progress bar (step, loss, steps/s, ETA), redrawn in place with a carriage return, as a
 * {@link TrainingListener}. {@link DiffusionTrainer} adds one on stderr when {@link TrainingConfig#progressBar()}.
 */
public final class ProgressBar implements TrainingListener {

    private static final int WIDTH = 24;

    private final PrintStream out;
    private final long totalSteps;
    private final long startStep;
    private final long startNanos = System.nanoTime();
    private long lastDraw;

    /**
     * @param out where to draw (stderr)
     * @param totalSteps the run's last step (for the bar and the ETA)
     * @param startStep the step the run starts after (non-zero when resuming)
     */
    public ProgressBar(PrintStream out, long totalSteps, long startStep) {
        this.out = out;
        this.totalSteps = Math.max(1, totalSteps);
        this.startStep = startStep;
    }

    @Override
    public void onStep(long step, int epoch, double loss, double lr) {
        long now = System.nanoTime();
        if (step < totalSteps && now - lastDraw < 200_000_000L) {
            return; // at most five redraws a second
        }
        lastDraw = now;
        out.print('\r' + line(step, epoch, loss, (now - startNanos) / 1e9));
        if (step >= totalSteps) {
            out.println();
        }
        out.flush();
    }

    /** The bar's text for a step, {@code seconds} into the run. */
    public String line(long step, int epoch, double loss, double seconds) {
        double done = Math.min(1.0, step / (double) totalSteps);
        int filled = (int) Math.round(done * WIDTH);
        double rate = seconds > 0 ? (step - startStep) / seconds : 0;
        double eta = rate > 0 ? (totalSteps - step) / rate : Double.NaN;
        return String.format(Locale.ROOT, "[%s%s] step %d/%d  epoch %d  loss %.4f  %.2f steps/s  ETA %s   ",
                "#".repeat(filled), ".".repeat(WIDTH - filled), step, totalSteps, epoch, loss, rate, clock(eta));
    }

    /** h:mm:ss, or "?" when unknown. */
    static String clock(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}
