package diffusionkit.training;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;

/**
 * The class-conditioning notebook's progress print, as a {@link TrainingListener}: after each epoch
 * <pre>
 * print(f'Finished epoch {epoch}. Average of the last 100 loss values: {avg:05f}')
 * </pre>
 * where the average is over the last 100 updates of the whole run (so it may reach into the previous epoch), the
 * losses before a resume included. Optionally also a line every {@code n} steps (the command line's).
 */
public final class EpochLossPrinter implements TrainingListener {

    /** The course's window. */
    public static final int WINDOW = 100;

    private final PrintStream out;
    private final ArrayDeque<Double> last = new ArrayDeque<>();
    private int stepLinesEvery;
    private DiffusionTrainer trainer;
    private long startStep;
    private double startSeconds;

    /** Prints to {@code out}. */
    public EpochLossPrinter(PrintStream out) {
        this.out = out;
    }

    /** Also prints the first five steps and then every {@code n}-th: step, epoch, loss, average, seconds per step. */
    public EpochLossPrinter optStepLines(int n) {
        stepLinesEvery = n;
        return this;
    }

    @Override
    public void onTrainStart(DiffusionTrainer t) {
        trainer = t;
        startStep = t.globalStep();
        startSeconds = t.elapsedSeconds();
        last.clear();
        List<Double> before = t.losses(); // a resumed run's earlier losses
        before.subList(Math.max(0, before.size() - WINDOW), before.size()).forEach(this::add);
    }

    @Override
    public void onStep(long step, int epoch, double loss, double lr) {
        add(loss);
        if (stepLinesEvery > 0 && (step <= 5 || step % stepLinesEvery == 0)) {
            double perStep = trainer == null || step == startStep ? Double.NaN
                    : (trainer.elapsedSeconds() - startSeconds) / (step - startStep);
            out.printf(Locale.ROOT, "step %d epoch %d loss %.5f (avg%d %.5f, %.2f s/step)%n", step, epoch, loss, WINDOW,
                    average(), perStep);
        }
    }

    @Override
    public void onEpochEnd(int epoch, double meanLoss) {
        out.printf(Locale.ROOT, "Finished epoch %d. Average of the last %d loss values: %.6f%n", epoch, WINDOW, average());
    }

    /** The mean of the last (up to) 100 losses; NaN before the first. */
    public double average() {
        return last.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private void add(double loss) {
        last.addLast(loss);
        if (last.size() > WINDOW) {
            last.removeFirst();
        }
    }
}
