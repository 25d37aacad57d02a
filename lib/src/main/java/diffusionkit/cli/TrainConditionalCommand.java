package diffusionkit.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.Preprocess;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.training.Checkpoints;
import diffusionkit.training.DiffusionTrainer;
import diffusionkit.training.EpochLossPrinter;
import diffusionkit.training.TrainerState;
import diffusionkit.training.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * {@code kit train-conditional}: the course's class-conditioned MNIST training ({@link DiffusionTrainer} with
 * {@link TrainingConfig#conditionalCourse()}), resumable exactly. The training options are those of
 * {@code finetune} ({@link TrainOptions}) with the course's defaults.
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
@Command(name = "train-conditional", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train the course's class-conditioned UNet (MNIST digits, or --dataset fashion-mnist-train).")
public final class TrainConditionalCommand extends TrainOptions {

    @Option(names = "--label-dropout", description = "CFG label dropout p (default: ${DEFAULT-VALUE}, the course)")
    double labelDropout = 0;

    @Option(names = "--mode", description = "concat (the course) or class_embedding (default: ${DEFAULT-VALUE})")
    String mode = "concat";

    @Option(names = "--stop-at", description = "UTC instant to stop at, e.g. 2026-11-25T17:55:00Z")
    String stopAt;

    @Option(names = "--resume-from", description = "continue from another run's checkpoint (or log folder), or start "
            + "from the weights of a model folder (fresh optimiser, step 0)")
    Path resumeFrom;

    /** The command with the class-conditioning notebook's recipe as its defaults. */
    public TrainConditionalCommand() {
        super("train-conditional");
        TrainingConfig course = TrainingConfig.conditionalCourse().build();
        batchSize = course.batchSize();
        gradAccumulationSteps = course.gradAccumulationSteps();
        numEpochs = course.numEpochs();
        lr = course.learningRate();
        weightDecay = course.weightDecay();
        lrGamma = course.lrGamma();
        logSamplesEvery = 0; // sample grids are drawn for UNet2DModel pipelines only
        saveModelEvery = 50; // and one at the end
        datasetName = "mnist";
        flip = false;
        seed = 0;
        progress = false; // the step lines of EpochLossPrinter instead
    }

    @Override
    public Integer call() throws Exception {
        Path from = resumeFrom != null ? resumeFrom : (resume ? logDir : null);
        Path checkpoint = from == null ? null : Checkpoints.find(from);
        if (from != null && checkpoint == null && !Files.isRegularFile(from.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            throw bad("nothing to resume in " + from + ": it has no " + Checkpoints.FOLDER + "/checkpoint-<step>/ and is no"
                    + " model folder (no " + ClassConditionedUNet.CONFIG_NAME + "). Start without --resume, or point"
                    + " --resume-from to a run, a checkpoint or a model folder");
        }
        long stop = stopAt == null ? 0 : Instant.parse(stopAt).toEpochMilli();
        TrainingConfig config = trainingConfig(TrainingConfig.conditionalCourse().optLabelDropout(labelDropout)
                .optStopAtMillis(stop));
        ImageDataset data = loadDataset(Preprocess.NONE);
        Engine.getInstance().setRandomSeed((int) seed); // the initial weights
        try (NDManager manager = NDManager.newBaseManager(device(device));
                ClassConditionedUNet model = from == null
                        ? ClassConditionedUNet.builder().optMode(ClassConditionedUNet.Mode.of(mode))
                                .optNullClass(labelDropout > 0).build(manager)
                        : ClassConditionedUNet.fromPretrained(checkpoint != null ? checkpoint : from, manager)) {
            if (checkpoint == null && from != null) {
                System.err.println("starting from the weights of " + from + " (no checkpoint there: fresh optimiser, step 0)");
            }
            System.err.println(model + " on " + model.device());
            DiffusionTrainer trainer = train(model, ClassConditionedUNet.courseScheduler(), data, config, checkpoint,
                    new EpochLossPrinter(System.out).optStepLines(10));
            Path last = Checkpoints.folder(logDir, trainer.globalStep());
            if (!Files.isRegularFile(last.resolve(TrainerState.FILE_NAME))) {
                last = trainer.saveCheckpoint(); // "every --checkpoint-every steps and at the end"
            }
            System.out.println("checkpoint " + last + ", model " + config.outputDir());
        }
        return 0;
    }
}
