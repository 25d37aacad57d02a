package diffusionkit.conditional;

import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;

/**
 * {@code kit train-conditional}: the course's class-conditioned MNIST training, resumable.
 *
 * <pre>
 * ./kit train-conditional --output runs/mnist-conditional                       # the course: 10 epochs, batch 128
 * ./kit train-conditional --output runs/mnist-conditional --label-dropout 0.1   # + classifier-free guidance
 * ./kit train-conditional --output runs/mnist-conditional --resume             # continue from the folder
 * ./kit train-conditional --output runs/c --resume-from datasets/models/mnist-conditional
 * </pre>
 */
@Command(name = "train-conditional", mixinStandardHelpOptions = true,
        description = "Train the course's class-conditioned UNet (MNIST digits, or --dataset fashion-mnist-train).")
public final class TrainConditionalCommand implements Callable<Integer> {

    @Option(names = "--output", required = true, description = "checkpoint folder (written every --checkpoint-every steps)")
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

    @Option(names = "--seed", defaultValue = "0", description = "seed of batch order and noise")
    long seed;

    @Option(names = "--max-steps", defaultValue = "0", description = "stop after this many steps in total (0: none)")
    long maxSteps;

    @Option(names = "--stop-at", description = "UTC instant to stop at, e.g. 2026-11-25T17:55:00Z")
    String stopAt;

    @Option(names = "--ema-decay", defaultValue = "0", description = "keep an EMA of the weights with this maximum decay "
            + "(e.g. 0.999), written to <output>/ema/ as a model folder (0: none, the course)")
    double emaDecay;

    @Option(names = "--checkpoint-every", defaultValue = "50", description = "steps between checkpoints")
    int checkpointEvery;

    @Option(names = "--limit", defaultValue = "0", description = "use only this many training images (0: all)")
    int limit;

    @Option(names = "--resume", description = "continue the run saved in --output")
    boolean resume;

    @Option(names = "--resume-from", description = "continue from another checkpoint or model folder")
    Path resumeFrom;

    @Override
    public Integer call() throws Exception {
        Path from = resumeFrom != null ? resumeFrom : (resume ? output : null);
        if (from != null && !Files.isRegularFile(from.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            throw new CommandLine.ParameterException(new CommandLine(this), "nothing to resume in " + from
                    + ": it has no " + ClassConditionedUNet.CONFIG_NAME + " (start without --resume, or point "
                    + "--resume-from to a checkpoint folder)");
        }
        ImageDataset data = PackagedDatasets.defaults().load(dataset).withPreprocess(Preprocess.NONE);
        if (limit > 0) {
            data = data.limit(limit, seed);
        }
        ConditionalTrainer.Options opts = new ConditionalTrainer.Options(batchSize, epochs, lr, labelDropout, seed, maxSteps, emaDecay);
        long stop = stopAt == null ? Long.MAX_VALUE : Instant.parse(stopAt).toEpochMilli();
        ai.djl.engine.Engine.getInstance().setRandomSeed((int) seed); // the initial weights
        try (NDManager manager = NDManager.newBaseManager(DeviceChoice.device())) {
            ClassConditionedUNet model;
            ConditionalTrainer trainer;
            Scheduler scheduler = ConditionalTrainer.courseScheduler();
            if (from != null) {
                model = ClassConditionedUNet.fromPretrained(from, manager);
                trainer = ConditionalTrainer.resume(from, model, scheduler, data, opts);
                System.out.printf("resumed from %s at step %d (epoch %d)%n", from, trainer.step(), trainer.epoch());
            } else {
                model = ClassConditionedUNet.builder().optMode(ClassConditionedUNet.Mode.of(mode))
                        .optNullClass(labelDropout > 0).build(manager);
                trainer = new ConditionalTrainer(model, scheduler, data, opts);
            }
            System.out.printf("%s on %s, %d images, %s%n", model, model.device(), data.length(), opts);
            ConditionalTrainer tr = trainer;
            trainer.train(new ConditionalTrainer.Listener() {
                @Override
                public void onStep(long step, int epoch, double loss, double seconds) {
                    if (step <= 5 || step % 10 == 0) {
                        System.out.printf("step %d epoch %d loss %.5f (%.2f s/step, avg100 %.5f)%n", step, epoch, loss,
                                seconds, tr.averageOfLast(100));
                    }
                }

                @Override
                public void onEpoch(int epoch, double avg) {
                    System.out.printf("Finished epoch %d. Average of the last 100 loss values: %f%n", epoch, avg);
                }
            }, output, checkpointEvery, stop);
            System.out.printf("saved %s at step %d (%.0f s of training)%n", output, trainer.step(), trainer.elapsedSeconds());
            model.close();
        }
        return 0;
    }

    /** Runs the command without the kit launcher. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new TrainConditionalCommand()).execute(args));
    }
}
