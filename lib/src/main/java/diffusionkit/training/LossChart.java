package diffusionkit.training;

import diffusionkit.viz.Charts;
import diffusionkit.viz.ImageGrid;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Draws the loss of every update (and its moving average) to {@code <logDir>/loss.png} when training ends. A
 * {@link DiffusionTrainer} with a log folder has one.
 */
public final class LossChart implements TrainingListener {

    /** The file name in the log folder. */
    public static final String FILE_NAME = "loss.png";

    private final Path logDir;
    private final LossTable losses;

    /**
     * @param logDir where {@value #FILE_NAME} goes
     * @param losses the table whose loss column is drawn
     */
    public LossChart(Path logDir, LossTable losses) {
        this.logDir = logDir;
        this.losses = losses;
    }

    @Override
    public void onTrainEnd(TrainingSummary summary) throws IOException {
        List<Double> all = losses.losses();
        ImageGrid.savePng(Charts.toImage(Charts.lossChart(all, Math.max(2, all.size() / 20))), logDir.resolve(FILE_NAME));
    }
}
