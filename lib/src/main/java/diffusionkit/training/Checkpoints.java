package diffusionkit.training;

import diffusionkit.io.CheckpointException;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checkpoint folders of a run: {@code <logDir>/checkpoints/checkpoint-<step>/}, one format for every model. Each
 * is a pipeline folder ({@link diffusionkit.pipelines.DiffusionPipeline#savePretrained(Path,
 * diffusionkit.models.NoisePredictor, diffusionkit.schedulers.Scheduler)}: for a UNet2DModel the diffusers layout
 * {@code model_index.json}, {@code unet/}, {@code scheduler/}; for a ClassConditionedUNet its own folder, which
 * {@code ClassConditionedUNet.fromPretrained} loads, with {@code scheduler/}) plus {@value #OPTIMIZER_FILE} (AdamW's
 * state), {@value #EMA_FILE} (the EMA weights under the model's state-dict names, when EMA is on),
 * {@code loss.csv} (the losses up to that step) and {@value TrainerState#FILE_NAME}. Each folder is written under a
 * temporary name and renamed into place, so a crash leaves the older ones intact.
 */
public final class Checkpoints {

    /** AdamW's state inside a checkpoint. */
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    /** The EMA weights inside a checkpoint. */
    public static final String EMA_FILE = "ema.safetensors";
    /** The folder of checkpoints inside a log folder. */
    public static final String FOLDER = "checkpoints";

    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

    private Checkpoints() {}

    /** The folder for the checkpoint of {@code step}. */
    public static Path folder(Path logDir, long step) {
        return logDir.resolve(FOLDER).resolve("checkpoint-" + step);
    }

    /** The complete checkpoints under {@code logDir} (those with a trainer state), oldest first. */
    public static List<Path> list(Path logDir) throws IOException {
        Path dir = logDir.resolve(FOLDER);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(TrainerState.FILE_NAME)))
                    .sorted(Comparator.comparingLong(Checkpoints::step)).toList();
        }
    }

    /** The step of a {@code checkpoint-<step>} folder. */
    public static long step(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The checkpoint in {@code path}: {@code path} itself when it holds a {@value TrainerState#FILE_NAME}, else the
     * newest checkpoint under it (a log folder); null when there is none.
     */
    public static Path find(Path path) throws IOException {
        if (Files.isRegularFile(path.resolve(TrainerState.FILE_NAME))) {
            return path;
        }
        List<Path> all = list(path);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /**
     * The checkpoint to resume from, as {@link #find(Path)}.
     *
     * @throws CheckpointException when there is none
     */
    public static Path resolve(Path path) throws IOException {
        Path cp = find(path);
        if (cp == null) {
            throw new CheckpointException("nothing to resume in " + path.toAbsolutePath() + ": no " + FOLDER
                    + "/checkpoint-<step>/ with a " + TrainerState.FILE_NAME + ". Pass the --log_dir of an earlier run that"
                    + " saved checkpoints (--save_model_every), or drop --resume.");
        }
        return cp;
    }

    /** Deletes all but the newest {@code keep} checkpoints. */
    public static void prune(Path logDir, int keep) throws IOException {
        List<Path> all = list(logDir);
        for (int i = 0; i < all.size() - keep; i++) {
            AtomicFiles.deleteRecursively(all.get(i));
        }
    }
}
