package diffusionkit.viz;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;

/** XChart charts for the kit, drawn to {@link BufferedImage} so any Jupyter Java kernel shows them inline. */
public final class Charts {

    private Charts() {}

    /** A loss curve: one point per step, and, when there are enough points, a moving average over {@code window}. */
    public static XYChart lossChart(List<? extends Number> losses, int window) {
        XYChart chart = new XYChartBuilder().width(700).height(400).title("Training loss")
                .xAxisTitle("step").yAxisTitle("loss").build();
        style(chart);
        double[] x = new double[losses.size()];
        double[] y = new double[losses.size()];
        for (int i = 0; i < y.length; i++) {
            x[i] = i;
            y[i] = losses.get(i).doubleValue();
        }
        if (y.length == 0) {
            x = new double[] {0};
            y = new double[] {0};
        }
        XYSeries s = chart.addSeries("loss", x, y);
        s.setMarker(SeriesMarkers.NONE);
        if (window > 1 && y.length >= window) {
            double[] avg = movingAverage(y, window);
            double[] ax = new double[avg.length];
            for (int i = 0; i < ax.length; i++) {
                ax[i] = i + window - 1;
            }
            XYSeries a = chart.addSeries("mean of last " + window, ax, avg);
            a.setMarker(SeriesMarkers.NONE);
        }
        roundTicks(chart);
        return chart;
    }

    /**
     * Several named curves over a shared x axis (e.g. two loss curves, or guidance schedules), in the map's order
     * when it has one (a LinkedHashMap), else by name: the same colours at every run ({@code Map.of} has no order).
     */
    public static XYChart lines(String title, String xTitle, String yTitle, double[] x, Map<String, double[]> series) {
        XYChart chart = new XYChartBuilder().width(700).height(400).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(chart);
        (series instanceof java.util.LinkedHashMap || series instanceof java.util.SortedMap ? series
                : new java.util.TreeMap<>(series)).forEach((name, y) -> chart.addSeries(name, x, y).setMarker(SeriesMarkers.NONE));
        roundTicks(chart);
        return chart;
    }

    /** The chart as an image. */
    public static BufferedImage toImage(XYChart chart) {
        return BitmapEncoder.getBufferedImage(chart);
    }

    /** The loss curve as an image. */
    public static BufferedImage lossCurve(List<? extends Number> losses) {
        return toImage(lossChart(losses, Math.max(2, Math.min(100, losses.size() / 10))));
    }

    /** Means of each run of {@code window} consecutive values. */
    public static double[] movingAverage(double[] y, int window) {
        double[] out = new double[y.length - window + 1];
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += y[i];
            if (i >= window) {
                sum -= y[i - window];
            }
            if (i >= window - 1) {
                out[i - window + 1] = sum / window;
            }
        }
        return out;
    }

    /**
     * Ticks at round x values (0, 100, 200 ... or 0, 10, 20 ...). When every series' x values are equally spaced
     * (steps, timesteps), XChart 3.8 puts its ticks on data points spaced by the width of one short label, and the
     * labels of 3-4 digit values overlap ("0 44 88 132 ..."); an invisible point half a step after the first one
     * (at the first series' first point's height, so the axes do not change) sends it to its round-number ticks
     * instead. Call it after adding the series; a chart without data is left as it is.
     */
    static void roundTicks(XYChart chart) {
        XYSeries first = chart.getSeriesMap().values().stream().findFirst().orElse(null);
        if (first == null || first.getXData().length == 0) {
            return;
        }
        XYSeries anchor = chart.addSeries(" ", new double[] {first.getXData()[0] + 0.5}, new double[] {first.getYData()[0]});
        anchor.setMarker(SeriesMarkers.NONE);
        anchor.setLineColor(new java.awt.Color(0, 0, 0, 0));
        anchor.setShowInLegend(false);
    }

    static void style(XYChart chart) {
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        chart.getStyler().setYAxisDecimalPattern("0.0##");
    }
}
