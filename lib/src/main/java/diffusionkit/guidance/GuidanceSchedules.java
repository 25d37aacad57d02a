package diffusionkit.guidance;

import diffusionkit.schedulers.Scheduler;
import diffusionkit.viz.Charts;
import org.knowm.xchart.XYChart;

import java.awt.image.BufferedImage;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The course's plot of candidate guidance schedules over the training timesteps: no scaling, ᾱ, √ᾱ and √(1−ᾱ)
 * ({@link ScheduleFactor}). Early sampling steps (large t, small ᾱ) get little guidance under √ᾱ and a lot under
 * √(1−ᾱ).
 */
public final class GuidanceSchedules {

    private GuidanceSchedules() {}

    /** The four factors at every training timestep t = 0..N−1, keyed by {@link ScheduleFactor#label()}. */
    public static Map<String, double[]> curves(Scheduler scheduler) {
        float[] ac = scheduler.alphasCumprod();
        Map<String, double[]> series = new LinkedHashMap<>();
        for (ScheduleFactor f : ScheduleFactor.values()) {
            double[] y = new double[ac.length];
            for (int t = 0; t < ac.length; t++) {
                y[t] = f.apply(ac[t]);
            }
            series.put(f.label(), y);
        }
        return series;
    }

    /** An XChart line chart of {@link #curves} against the timestep. */
    public static XYChart chart(Scheduler scheduler) {
        int n = scheduler.numTrainTimesteps();
        double[] x = new double[n];
        for (int t = 0; t < n; t++) {
            x[t] = t;
        }
        String beta = scheduler.config().betaSchedule();
        return Charts.lines("Guidance schedules (" + beta + " betas)", "timestep t", "factor", x, curves(scheduler));
    }

    /** {@link #chart} rendered as an image (e.g. for a notebook or {@code ImageGrid.savePng}). */
    public static BufferedImage image(Scheduler scheduler) {
        return Charts.toImage(chart(scheduler));
    }
}
