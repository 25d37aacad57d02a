package diffusionkit.cli;

import diffusionkit.models.ClassConditionedUNet;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.training.Checkpoints;
import diffusionkit.training.DiffusionTrainer;
import diffusionkit.training.EpochLossPrinter;
import diffusionkit.training.TrainerState;
import diffusionkit.training.TrainingConfig;
import diffusionkit.training.TrainingSummary;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;

/**
 * {@code kit train-conditional}: the course's class-conditioned MNIST training ({@link DiffusionTrainer} with
 * {@link TrainingConfig#conditionalCourse()}), resumable exactly.
 *
 * <pre>
 * ./kit train-conditional --output runs/mnist-conditional                       # the course: 10 epochs, batch 128
 * ./kit train-conditional --output runs/mnist-conditional --label-dropout 0.1   # + classifier-free guidance
 * ./kit train-conditional --output runs/mnist-conditional --resume             # continue from its newest checkpoint
 * ./kit train-conditional --output runs/c --resume-from datasets/models/mnist-conditional   # start from its weights
 * </pre>
 * {@code --output} is the run's log folder: {@code loss.csv}, {@code loss.png}, {@code summary.json},
 * {@code checkpoints/checkpoint-<step>/} (every {@code --checkpoint-every} steps and at the end; each one is also a
 * model folder that {@link ClassConditionedUNet#fromPretrained} loads) and {@code model/}, the final model (the EMA
 * weights with {@code --ema-decay}).
 */
@Command(name = "train-conditional", mixinStandardHelpOptions = true,
        description = "Train the course's class-conditioned UNet (MNIST digits, or --dataset fashion-mnist-train).")
public final class TrainConditionalCommand implements Callable<Integer> {

    /** The final model's folder inside {@code --output}. */
    public static final String MODEL_FOLDER = "model";

    @Option(names = "--output", required = true, description = "run folder: logs, checkpoints/checkpoint-<step>/ "
            + "(every --checkpoint-every steps and at the end) and model/ (the final model)")
    Path output;

    @Option(names = "--dataset", defaultValue = "mnist", description = "labelled dataset (default: ${DEFAULT-VALUE})")
    String dataset;

    @Option(names = "--epochs", defaultValue = "10", description = "epochs (course: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "128", description = "batch size (course: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Adam learning rate (course: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--label-dropout", defaultValue = "0", description = "CFG label dropout p (0 = the course)")
    double labelDropout;

    @Option(names = "--mode", defaultValue = "concat", description = "concat (course) | class_embedding")
    String mode;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the initial weights, batch order and noise")
    long seed;

    @Option(names = "--max-steps", defaultValue = "0", description = "stop after this many steps in total (0: none)")
    long maxSteps;

    @Option(names = "--stop-at", description = "UTC instant to stop at, e.g. 2026-11-25T17:55:00Z")
    String stopAt;

    @Option(names = "--ema-decay", defaultValue = "0", description = "keep an EMA of the weights with this maximum decay "
            + "(e.g. 0.999): in each checkpoint's ema.safetensors, and the weights of <output>/model (0: none, the course)")
    double emaDecay;

    @Option(names = "--checkpoint-every", defaultValue = "50", description = "steps between checkpoints (0: only at the end)")
    int checkpointEvery;

    @Option(names = "--limit", defaultValue = "0", description = "use only this many training images (0: all)")
    int limit;

    @Option(names = "--resume", description = "continue the run saved in --output from its newest checkpoint")
    boolean resume;

    @Option(names = "--resume-from", description = "continue from another run's checkpoint (or log folder), or start "
            + "from the weights of a model folder (fresh optimiser, step 0)")
    Path resumeFrom;

    @Override
    public Integer call() throws Exception {
        Path from = resumeFrom != null ? resumeFrom : (resume ? output : null);
        Path checkpoint = from == null ? null : checkpointIn(from);
        if (from != null && checkpoint == null && !Files.isRegularFile(from.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            throw new CommandLine.ParameterException(new CommandLine(this), "nothing to resume in " + from
                    + ": it has no " + Checkpoints.FOLDER + "/checkpoint-<step>/ and is no model folder (no "
                    + ClassConditionedUNet.CONFIG_NAME + "). Start without --resume, or point --resume-from to a run, "
                    + "a checkpoint or a model folder");
        }
        long stop = stopAt == null ? 0 : Instant.parse(stopAt).toEpochMilli();
        TrainingConfig config;
        try {
            config = TrainingConfig.conditionalCourse().optBatchSize(batchSize).optNumEpochs(epochs).optLearningRate(lr)
                    .optLabelDropout(labelDropout).optSeed(seed).optMaxSteps(maxSteps).optStopAtMillis(stop)
                    .optEmaDecay(emaDecay).optSaveModelEvery(checkpointEvery).optLogDir(output)
                    .optOutputDir(output.resolve(MODEL_FOLDER)).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
        }
        ImageDataset data = PackagedDatasets.defaults().load(dataset).withPreprocess(Preprocess.NONE);
        if (limit > 0) {
            data = data.limit(limit, seed);
        }
        ai.djl.engine.Engine.getInstance().setRandomSeed((int) seed); // the initial weights
        try (NDManager manager = NDManager.newBaseManager(DeviceChoice.device());
                ClassConditionedUNet model = from == null
                        ? ClassConditionedUNet.builder().optMode(ClassConditionedUNet.Mode.of(mode))
                                .optNullClass(labelDropout > 0).build(manager)
                        : ClassConditionedUNet.fromPretrained(checkpoint != null ? checkpoint : from, manager)) {
            DiffusionTrainer trainer;
            try {
                trainer = new DiffusionTrainer(model, ClassConditionedUNet.courseScheduler(), data, config);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
            }
            trainer.addListener(new EpochLossPrinter(System.out).optStepLines(10));
            if (checkpoint != null) {
                TrainerState st = trainer.resume(checkpoint);
                System.out.printf("resumed from %s at step %d (epoch %d)%n", checkpoint, st.globalStep(), st.epoch());
            } else if (from != null) {
                System.out.printf("starting from the weights of %s (no checkpoint there: fresh optimiser, step 0)%n", from);
            }
            System.out.printf("%s on %s, %d images, %s%n", model, model.device(), data.length(), config);
            TrainingSummary summary = trainer.train();
            Path last = Checkpoints.folder(output, trainer.globalStep());
            if (!Files.isRegularFile(last.resolve(TrainerState.FILE_NAME))) {
                last = trainer.saveCheckpoint();
            }
            System.out.println(summary);
            System.out.printf("checkpoint %s, model %s%n", last, config.outputDir());
        }
        return 0;
    }

    /** The checkpoint to resume from in {@code from} (a checkpoint, or a run with checkpoints), or null when none. */
    private static Path checkpointIn(Path from) throws IOException {
        if (Files.isRegularFile(from.resolve(TrainerState.FILE_NAME)) || !Checkpoints.list(from).isEmpty()) {
            return Checkpoints.resolve(from);
        }
        return null;
    }
}
