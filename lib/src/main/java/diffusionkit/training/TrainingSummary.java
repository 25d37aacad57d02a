package diffusionkit.training;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.GsonBuilder;

import java.nio.file.Path;
import java.util.List;

/**
 * What a training run did, printed at its end and returned by {@link DiffusionTrainer#train()}.
 *
 * @param steps global steps (optimiser updates) done, counting those before a resume
 * @param stepsThisRun updates done by this run
 * @param epochs epochs finished
 * @param seconds wall time of this run
 * @param lastEpochMeanLoss mean loss of the updates of the last epoch this run touched
 * @param finalLoss the last update's loss
 * @param losses every update's loss of this run, in order
 * @param outputDir where the final model was written, or null
 * @param logDir where logs and checkpoints went, or null
 */
public record TrainingSummary(long steps, long stepsThisRun, int epochs, double seconds, double lastEpochMeanLoss,
        double finalLoss, List<Double> losses, Path outputDir, Path logDir) {

    /** Seconds per update in this run. */
    public double secondsPerStep() {
        return stepsThisRun == 0 ? 0 : seconds / stepsThisRun;
    }

    /** The summary as {@code summary.json} holds it: the numbers, with snake_case keys ({@code steps_this_run}). */
    public String toJson() {
        record Numbers(long steps, long stepsThisRun, int epochs, double seconds, double secondsPerStep,
                double lastEpochMeanLoss, double finalLoss) {}
        return new GsonBuilder().setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).setPrettyPrinting()
                .serializeSpecialFloatingPointValues().create().toJson(new Numbers(steps, stepsThisRun, epochs, seconds,
                        secondsPerStep(), lastEpochMeanLoss, finalLoss)) + "\n";
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "trained %d steps (%d in this run) over %d epoch(s) in %.1f s (%.3f s/step); mean loss of the last epoch %.5f,"
                        + " final loss %.5f%s%s",
                steps, stepsThisRun, epochs, seconds, secondsPerStep(), lastEpochMeanLoss, finalLoss,
                outputDir == null ? "" : "; model in " + diffusionkit.data.KitHome.shown(outputDir),
                logDir == null ? "" : "; logs in " + diffusionkit.data.KitHome.shown(logDir));
    }
}
