package diffusionkit.training;

import diffusionkit.util.AtomicFiles;
import diffusionkit.viz.Charts;
import diffusionkit.viz.ImageGrid;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.NumericColumn;
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
    private final List<double[]> rows = new ArrayList<>(); // step, epoch, loss, lr, seconds

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
        rows.add(new double[] {step, epoch, loss, lr, seconds.getAsDouble()});
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
        List<Double> out = new ArrayList<>(rows.size());
        for (double[] r : rows) {
            out.add(r[2]);
        }
        return out;
    }

    /** The table so far: step, epoch, loss, lr, seconds (one row per update). */
    public Table table() {
        long[] step = new long[rows.size()];
        int[] ep = new int[rows.size()];
        double[] loss = new double[rows.size()];
        double[] lr = new double[rows.size()];
        double[] sec = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            double[] r = rows.get(i);
            step[i] = (long) r[0];
            ep[i] = (int) r[1];
            loss[i] = r[2];
            lr[i] = r[3];
            sec[i] = r[4];
        }
        return Table.create("loss", LongColumn.create("step", step), IntColumn.create("epoch", ep),
                DoubleColumn.create("loss", loss), DoubleColumn.create("lr", lr), DoubleColumn.create("seconds", sec));
    }

    /** Writes the table as CSV, atomically. */
    public void write(Path csv) throws IOException {
        Table t = table();
        AtomicFiles.write(csv, out -> t.write().csv(out));
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
        NumericColumn<?> s = t.numberColumn("step");
        for (int i = 0; i < t.rowCount(); i++) {
            if (s.getDouble(i) <= lastStep) {
                rows.add(new double[] {s.getDouble(i), t.numberColumn("epoch").getDouble(i),
                        t.numberColumn("loss").getDouble(i), t.numberColumn("lr").getDouble(i),
                        t.numberColumn("seconds").getDouble(i)});
            }
        }
    }
}
