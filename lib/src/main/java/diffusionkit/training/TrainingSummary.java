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
 * @param stepsPerEpoch updates per epoch (a run stopped inside an epoch has done {@code steps / stepsPerEpoch} epochs)
 * @param seconds wall time of this run
 * @param lastEpochMeanLoss mean loss of the updates of the last epoch this run touched
 * @param finalLoss the last update's loss
 * @param losses every update's loss of this run, in order
 * @param outputDir where the final model was written, or null
 * @param logDir where logs and checkpoints went, or null
 */
public record TrainingSummary(long steps, long stepsThisRun, int epochs, int stepsPerEpoch, double seconds,
        double lastEpochMeanLoss, double finalLoss, List<Double> losses, Path outputDir, Path logDir) {

    /** Seconds per update in this run. */
    public double secondsPerStep() {
        return stepsThisRun == 0 ? 0 : seconds / stepsThisRun;
    }

    /** Epochs done, counting a partial last one: "3", "1.33". */
    public String epochsDone() {
        if (stepsPerEpoch <= 0 || steps % stepsPerEpoch == 0) {
            return String.valueOf(stepsPerEpoch <= 0 ? epochs : steps / stepsPerEpoch);
        }
        return String.format(java.util.Locale.ROOT, "%.2f", steps / (double) stepsPerEpoch);
    }

    /**
     * The summary as {@code summary.json} holds it: the numbers, with snake_case keys ({@code steps_this_run}); the
     * losses are null when this run made no update (a resume with nothing left to do).
     */
    public String toJson() {
        record Numbers(long steps, long stepsThisRun, int epochs, int stepsPerEpoch, double seconds, double secondsPerStep,
                Double lastEpochMeanLoss, Double finalLoss) {}
        return new GsonBuilder().setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).setPrettyPrinting()
                .serializeNulls().create().toJson(new Numbers(steps, stepsThisRun, epochs, stepsPerEpoch, seconds, secondsPerStep(),
                        stepsThisRun == 0 ? null : lastEpochMeanLoss, stepsThisRun == 0 ? null : finalLoss)) + "\n";
    }

    @Override
    public String toString() {
        String where = (outputDir == null ? "" : "; model in " + diffusionkit.data.KitHome.shown(outputDir))
                + (logDir == null ? "" : "; logs in " + diffusionkit.data.KitHome.shown(logDir));
        if (stepsThisRun == 0) {
            return String.format(java.util.Locale.ROOT, "nothing left to train: the run already stands at step %d (%s "
                    + "epochs), its end: raise num_epochs or max_steps to train on%s", steps, epochsDone(), where);
        }
        return String.format(java.util.Locale.ROOT,
                "trained %d steps (%d in this run) over %s epochs in %.1f s (%.3f s/step); mean loss of the last epoch %.5f,"
                        + " final loss %.5f%s",
                steps, stepsThisRun, epochsDone(), seconds, secondsPerStep(), lastEpochMeanLoss, finalLoss, where);
    }
}
