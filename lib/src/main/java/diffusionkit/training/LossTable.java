package diffusionkit.training;

import diffusionkit.util.AtomicFiles;
import diffusionkit.viz.Charts;
import diffusionkit.viz.ImageGrid;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.Table;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * The loss of every update as a Tablesaw table (step, epoch, loss, lr, seconds), kept in memory; with a log folder
 * also written to {@code <logDir>/loss.csv} every 100 steps, at each checkpoint and at the end, when also
 * {@code loss.png} (every loss and its moving average) and {@code summary.json} (the {@link TrainingSummary}) are
 * written. A {@link DiffusionTrainer} always has one ({@link DiffusionTrainer#lossTable()}), and puts a copy into
 * each checkpoint, from which {@link DiffusionTrainer#resume(Path)} restores it.
 */
public final class LossTable implements TrainingListener {

    /** The file name, in a log folder and in a checkpoint. */
    public static final String FILE_NAME = "loss.csv";
    /** The loss chart's file name in the log folder. */
    public static final String CHART_FILE = "loss.png";
    /** The summary's file name in the log folder. */
    public static final String SUMMARY_FILE = "summary.json";

    private final Path logDir;
    private final DoubleSupplier seconds;
    private final Table rows = Table.create("loss", LongColumn.create("step"), IntColumn.create("epoch"),
            DoubleColumn.create("loss"), DoubleColumn.create("lr"), DoubleColumn.create("seconds"));

    /**
     * @param logDir where {@value #FILE_NAME} goes (null: memory only)
     * @param seconds the training time so far, read at each step (e.g. {@link DiffusionTrainer#elapsedSeconds()})
     */
    public LossTable(Path logDir, DoubleSupplier seconds) {
        this.logDir = logDir;
        this.seconds = seconds;
    }

    @Override
    public void onStep(long step, int epoch, double loss, double lr) throws IOException {
        add(step, epoch, loss, lr, seconds.getAsDouble());
        if (step % 100 == 0) {
            writeLog();
        }
    }

    @Override
    public void onCheckpoint(long step, Path path) throws IOException {
        writeLog();
    }

    @Override
    public void onTrainEnd(TrainingSummary summary) throws IOException {
        writeLog();
        if (logDir != null) {
            List<Double> all = losses();
            ImageGrid.savePng(Charts.toImage(Charts.lossChart(all, Math.max(2, all.size() / 20))), logDir.resolve(CHART_FILE));
            AtomicFiles.writeString(logDir.resolve(SUMMARY_FILE), summary.toJson());
        }
    }

    /** The losses up to the last good step. */
    @Override
    public void onTrainError(RuntimeException error) throws IOException {
        writeLog();
    }

    private void writeLog() throws IOException {
        if (logDir != null) {
            write(logDir.resolve(FILE_NAME));
        }
    }

    /** Every loss so far, in order (a copy). */
    public List<Double> losses() {
        return new ArrayList<>(rows.doubleColumn("loss").asList());
    }

    /** The table so far: step, epoch, loss, lr, seconds (one row per update; a copy). */
    public Table table() {
        return rows.copy();
    }

    /** Writes the table as CSV, atomically. */
    public void write(Path csv) throws IOException {
        AtomicFiles.write(csv, out -> rows.write().csv(out));
    }

    /**
     * Replaces the rows by those of a {@value #FILE_NAME} up to {@code lastStep} (on resume); nothing when the file
     * is missing. Losses are stored with 17 significant digits, so they come back bit for bit.
     */
    public void restore(Path csv, long lastStep) throws IOException {
        rows.clear();
        if (!Files.isRegularFile(csv)) {
            return;
        }
        Table t = Table.read().csv(csv.toString());
        for (int i = 0; i < t.rowCount(); i++) {
            if (t.numberColumn("step").getDouble(i) <= lastStep) {
                add((long) t.numberColumn("step").getDouble(i), (int) t.numberColumn("epoch").getDouble(i),
                        t.numberColumn("loss").getDouble(i), t.numberColumn("lr").getDouble(i),
                        t.numberColumn("seconds").getDouble(i));
            }
        }
    }

    private void add(long step, int epoch, double loss, double lr, double sec) {
        rows.longColumn("step").append(step);
        rows.intColumn("epoch").append(epoch);
        rows.doubleColumn("loss").append(loss);
        rows.doubleColumn("lr").append(lr);
        rows.doubleColumn("seconds").append(sec);
    }
}
