package diffusionkit.training;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes the {@link TrainingSummary} to {@code <logDir>/summary.json} when training ends (steps, epochs, seconds,
 * seconds per step, the last epoch's mean loss, the final loss). A {@link DiffusionTrainer} with a log folder has one.
 */
public final class SummaryFile implements TrainingListener {

    /** The file name in the log folder. */
    public static final String FILE_NAME = "summary.json";

    private final Path logDir;

    /** @param logDir where {@value #FILE_NAME} goes */
    public SummaryFile(Path logDir) {
        this.logDir = logDir;
    }

    @Override
    public void onTrainEnd(TrainingSummary summary) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("steps", summary.steps());
        o.addProperty("steps_this_run", summary.stepsThisRun());
        o.addProperty("epochs", summary.epochs());
        o.addProperty("seconds", summary.seconds());
        o.addProperty("seconds_per_step", summary.secondsPerStep());
        o.addProperty("last_epoch_mean_loss", summary.lastEpochMeanLoss());
        o.addProperty("final_loss", summary.finalLoss());
        AtomicFiles.writeString(logDir.resolve(FILE_NAME),
                new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(o) + "\n");
    }
}
