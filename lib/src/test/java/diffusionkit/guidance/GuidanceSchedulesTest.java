package diffusionkit.guidance;

import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class GuidanceSchedulesTest {

    @Test
    void theFourCurvesFollowTheClosedFormOfTheLinearSchedule() {
        DDPMScheduler s = new DDPMScheduler();   // linear betas 1e-4 .. 0.02 over 1000 steps
        Map<String, double[]> c = GuidanceSchedules.curves(s);
        assertEquals(List.of("no scaling", "ᾱ", "√ᾱ", "√(1−ᾱ)"), List.copyOf(c.keySet()));
        // ᾱ_t = Π_{s<=t} (1 − β_s), β_s = 1e-4 + s·(0.02 − 1e-4)/999, computed here in double
        double prod = 1;
        for (int t = 0; t < 1000; t++) {
            prod *= 1 - (1e-4 + t * (0.02 - 1e-4) / 999);
            assertEquals(1.0, c.get("no scaling")[t], 0);
            assertEquals(prod, c.get("ᾱ")[t], 1e-5);
            assertEquals(Math.sqrt(prod), c.get("√ᾱ")[t], 1e-5);
            assertEquals(Math.sqrt(1 - prod), c.get("√(1−ᾱ)")[t], 2e-4);   // float32 ᾱ near 1 at t = 0
        }
        assertEquals(0.9999, c.get("ᾱ")[0], 1e-7);
        assertTrue(c.get("ᾱ")[999] < 1e-4);
    }

    @Test
    void chartAndImage() {
        DDPMScheduler s = new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.BETA_SCHEDULE, "squaredcos_cap_v2"));
        XYChart chart = GuidanceSchedules.chart(s);
        assertEquals(4, chart.getSeriesMap().values().stream().filter(org.knowm.xchart.XYSeries::isShowInLegend).count(), "four schedules in the legend");
        assertTrue(chart.getTitle().contains("squaredcos_cap_v2"), chart.getTitle());
        BufferedImage img = GuidanceSchedules.image(s);
        assertEquals(700, img.getWidth());
        assertEquals(400, img.getHeight());
    }
}
