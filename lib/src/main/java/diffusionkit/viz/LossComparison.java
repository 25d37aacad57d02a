package diffusionkit.viz;

import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Several training runs' losses in one figure (e.g. a fine-tune against the same steps from scratch), read from the
 * {@code loss.csv} that every training run writes ({@code step,epoch,loss,...}).
 *
 * <pre>
 * ./kit compare-losses --output out.png --window 5 "from emoji-base=runs/ft/loss.csv" "from scratch=runs/s/loss.csv"
 * </pre>
 */
public final class LossComparison {

    private LossComparison() {
    }

    /** The {@code loss} column of a run's {@code loss.csv}, in step order. */
    public static List<Double> readLosses(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        if (lines.isEmpty()) {
            throw new IOException(csv + " is empty: expected a loss.csv with a header line step,epoch,loss,...");
        }
        List<String> header = List.of(lines.get(0).split(","));
        int col = header.indexOf("loss");
        if (col < 0) {
            throw new IOException(csv + " has no 'loss' column (header: " + lines.get(0) + "): is it a training run's loss.csv?");
        }
        List<Double> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (!line.isBlank()) {
                out.add(Double.parseDouble(line.split(",")[col]));
            }
        }
        return out;
    }

    /**
     * One curve per run: the moving average over {@code window} steps (the raw losses when a run is shorter), plotted
     * at the step it ends on.
     */
    public static XYChart chart(String title, Map<String, List<Double>> runs, int window) {
        XYChart chart = new XYChartBuilder().width(700).height(400).title(title).xAxisTitle("step")
                .yAxisTitle(window > 1 ? "loss (mean of " + window + " steps)" : "loss").build();
        Charts.style(chart);
        runs.forEach((name, losses) -> {
            double[] y = losses.stream().mapToDouble(Double::doubleValue).toArray();
            int w = window > 1 && y.length >= window ? window : 1;
            double[] avg = w > 1 ? Charts.movingAverage(y, w) : y;
            double[] x = new double[avg.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = i + w; // steps count from 1
            }
            if (x.length == 0) {
                throw new IllegalArgumentException("run '" + name + "' has no losses");
            }
            chart.addSeries(name, x, avg).setMarker(SeriesMarkers.NONE);
        });
        Charts.roundTicks(chart);
        return chart;
    }
}
