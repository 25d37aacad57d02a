package diffusionkit.viz;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossComparisonTest {

    @Test
    void readsTheLossColumnAndAveragesEachRun(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a.csv");
        Files.writeString(a, "step,epoch,loss,lr,seconds\n1,0,4.0,1e-3,0.1\n2,0,2.0,1e-3,0.2\n3,0,0.0,1e-3,0.3\n");
        assertEquals(List.of(4.0, 2.0, 0.0), LossComparison.readLosses(a));
        Map<String, List<Double>> runs = new LinkedHashMap<>();
        runs.put("fine-tune", LossComparison.readLosses(a));
        runs.put("scratch", List.of(1.0)); // shorter than the window: raw values
        XYChart c = LossComparison.chart("t", runs, 2);
        assertArrayEquals(new double[] {3.0, 1.0}, c.getSeriesMap().get("fine-tune").getYData(), 1e-12);
        assertArrayEquals(new double[] {2.0, 3.0}, c.getSeriesMap().get("fine-tune").getXData(), 1e-12);
        assertArrayEquals(new double[] {1.0}, c.getSeriesMap().get("scratch").getYData(), 1e-12);

        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "step,value\n1,2\n");
        IOException e = assertThrows(IOException.class, () -> LossComparison.readLosses(bad));
        assertTrue(e.getMessage().contains("no 'loss' column"), e.getMessage());
    }

    /** Charts.lines draws unordered maps by name (the same colours at every run), ordered ones in their order. */
    @Test
    void linesHaveAStableOrder() {
        double[] x = {0, 1};
        XYChart byName = Charts.lines("t", "x", "y", x, Map.of("signal", new double[] {1, 0}, "noise", new double[] {0, 1}));
        assertEquals(List.of("noise", "signal"), shown(byName));
        Map<String, double[]> ordered = new LinkedHashMap<>();
        ordered.put("signal", new double[] {1, 0});
        ordered.put("noise", new double[] {0, 1});
        assertEquals(List.of("signal", "noise"), shown(Charts.lines("t", "x", "y", x, ordered)));
    }

    /** The series a reader sees: in the legend and drawn. */
    static List<String> shown(XYChart chart) {
        return chart.getSeriesMap().values().stream().filter(org.knowm.xchart.XYSeries::isShowInLegend)
                .map(org.knowm.xchart.XYSeries::getName).toList();
    }

    /**
     * Equally spaced x values get round ticks through one hidden point (see Charts.roundTicks): it is not in the
     * legend, is transparent, and lies inside the data's range, so neither axis changes.
     */
    @Test
    void theTickAnchorIsHiddenAndInsideTheData() {
        List<Double> losses = new java.util.ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            losses.add(1.0 / (i + 1));
        }
        for (XYChart c : List.of(Charts.lossChart(losses, 10), LossComparison.chart("t", Map.of("run", losses), 10))) {
            List<org.knowm.xchart.XYSeries> hidden = c.getSeriesMap().values().stream().filter(s -> !s.isShowInLegend()).toList();
            assertEquals(1, hidden.size(), "one hidden anchor");
            org.knowm.xchart.XYSeries anchor = hidden.get(0);
            assertEquals(0, anchor.getLineColor().getAlpha(), "the anchor is transparent");
            double ax = anchor.getXData()[0], ay = anchor.getYData()[0];
            org.knowm.xchart.XYSeries data = c.getSeriesMap().values().stream().filter(org.knowm.xchart.XYSeries::isShowInLegend).findFirst().orElseThrow();
            double[] xs = data.getXData(), ys = data.getYData();
            assertTrue(ax > xs[0] && ax < xs[xs.length - 1], "x inside the data: " + ax);
            assertTrue(java.util.Arrays.stream(ys).anyMatch(y -> y == ay), "y is a data value: " + ay);
        }
    }
}
