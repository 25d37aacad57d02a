package diffusionkit.training;

import diffusionkit.viz.Charts;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A live view of a training run for notebooks: a one-line progress text and a loss chart, handed to two callbacks.
 * In a Jupyter Java kernel (IJava's display API):
 * <pre>
 * String bar = display("starting"), plot = display(Charts.lossCurve(List.of()));
 * var live = new LiveTrainingView(trainer.totalSteps(), s -&gt; updateDisplay(bar, s), img -&gt; updateDisplay(plot, img));
 * trainer.addListener(live);
 * </pre>
 * The text is drawn at the first step and then at most twice a second, the chart every
 * {@link #optChartEvery(double)} seconds from the start (and at the end of each epoch), so a fast loop is not slowed
 * down by drawing. The per-epoch mean losses are kept for a table.
 */
public final class LiveTrainingView implements TrainingListener {

    private final ProgressBar bar;
    private final Consumer<String> progress;
    private final Consumer<BufferedImage> chart;
    private final long startNanos = System.nanoTime();
    private final List<Double> losses = new ArrayList<>();
    private final List<Double> epochMeans = new ArrayList<>();
    private final StringBuilder epochLines = new StringBuilder();
    private double chartEverySeconds = 3;
    private boolean drawn;
    private long lastText;
    private long lastChart = startNanos;

    /**
     * @param totalSteps the run's last step (for the bar and the ETA)
     * @param progress receives the progress text (may be null)
     * @param chart receives the loss chart (may be null)
     */
    public LiveTrainingView(long totalSteps, Consumer<String> progress, Consumer<BufferedImage> chart) {
        this.bar = new ProgressBar(System.err, totalSteps, 0);
        this.progress = progress;
        this.chart = chart;
    }

    /** Seconds between chart redraws (3). */
    public LiveTrainingView optChartEvery(double seconds) {
        this.chartEverySeconds = seconds;
        return this;
    }

    @Override
    public void onStep(long step, int epoch, double loss, double lr) {
        losses.add(loss);
        long now = System.nanoTime();
        if (progress != null && (!drawn || now - lastText > 500_000_000L)) {
            drawn = true;
            lastText = now;
            progress.accept(text(step, epoch, loss, now));
        }
        if (chart != null && now - lastChart > chartEverySeconds * 1e9) {
            lastChart = now;
            chart.accept(chart());
        }
    }

    @Override
    public void onEpochEnd(int epoch, double meanLoss) {
        epochMeans.add(meanLoss);
        epochLines.append(String.format(Locale.ROOT, "%nepoch %d: average loss %.5f", epoch, meanLoss));
        redraw(epoch);
    }

    /** Draws the final text and chart (call after training, when the last step did not end an epoch). */
    public void finish() {
        redraw(epochMeans.size());
    }

    private void redraw(int epoch) {
        long now = System.nanoTime();
        if (progress != null && !losses.isEmpty()) {
            progress.accept(text(losses.size(), epoch, losses.get(losses.size() - 1), now));
        }
        if (chart != null && !losses.isEmpty()) {
            lastChart = now;
            chart.accept(chart());
        }
    }

    /** The loss chart so far (one point per step and its moving average over 20). */
    public BufferedImage chart() {
        return Charts.toImage(Charts.lossChart(losses, 20));
    }

    /** Every step's loss so far (a copy). */
    public List<Double> losses() {
        return List.copyOf(losses);
    }

    /** The mean loss of each finished epoch (a copy). */
    public List<Double> epochMeans() {
        return List.copyOf(epochMeans);
    }

    private String text(long step, int epoch, double loss, long now) {
        return bar.line(step, epoch, loss, (now - startNanos) / 1e9).strip() + epochLines;
    }
}
