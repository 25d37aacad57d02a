package diffusionkit.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class LiveTrainingViewTest {

    @Test
    void keepsLossesAndEpochMeansAndRedrawsAtEpochEnds() {
        List<String> texts = new ArrayList<>();
        List<BufferedImage> charts = new ArrayList<>();
        LiveTrainingView view = new LiveTrainingView(4, texts::add, charts::add).optChartEvery(3600);
        view.onStep(1, 0, 1.0, 1e-4);
        view.onStep(2, 0, 0.5, 1e-4);
        view.onEpochEnd(0, 0.75);
        view.onStep(3, 1, 0.25, 1e-4);
        view.onStep(4, 1, 0.25, 1e-4);
        view.onEpochEnd(1, 0.25);
        assertEquals(List.of(1.0, 0.5, 0.25, 0.25), view.losses());
        assertEquals(List.of(0.75, 0.25), view.epochMeans());
        // the first step draws the text (no earlier draw); the chart waits for the epoch ends (hour-long interval)
        assertEquals(2, charts.size());
        String last = texts.get(texts.size() - 1);
        assertTrue(last.contains("step 4/4"), last);
        assertTrue(last.contains("epoch 0: average loss 0.75000") && last.contains("epoch 1: average loss 0.25000"), last);
        view.finish();
        assertEquals(3, charts.size());
        assertTrue(charts.get(2).getWidth() > 100);
    }

    @Test
    void epochLossPrinterPrintsTheCourseLineOverTheLast100Losses() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        EpochLossPrinter p = new EpochLossPrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        for (int i = 1; i <= 150; i++) {
            p.onStep(i, i <= 120 ? 0 : 1, i, 1e-3); // loss i at step i
        }
        p.onEpochEnd(1, 135.5);
        // np.mean(losses[-100:]) of losses 1..150: the mean of 51..150 = 100.5, not the epoch's mean
        assertEquals("Finished epoch 1. Average of the last 100 loss values: 100.500000" + System.lineSeparator(),
                bytes.toString(StandardCharsets.UTF_8));
    }
}
