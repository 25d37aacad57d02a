package diffusionkit.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import diffusionkit.data.DataException;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.models.NoisePredictor;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.training.DiffusionTrainer;
import diffusionkit.training.TrainingConfig;
import diffusionkit.training.TrainingSummary;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The options {@code finetune} and {@code pretrain} share: those of the course's {@code finetune_model.py} (with
 * its defaults) plus the kit's. Both spellings are accepted: {@code --batch_size} and {@code --batch-size}.
 */
abstract class TrainOptions implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"--batch_size", "--batch-size"}, description = "images per batch (default: ${DEFAULT-VALUE})")
    int batchSize = 16;

    @Option(names = {"--grad_accumulation_steps", "--grad-accumulation-steps"},
            description = "batches per optimiser update; the loss of each is divided by this (default: ${DEFAULT-VALUE})")
    int gradAccumulationSteps = 2;

    @Option(names = {"--num_epochs", "--num-epochs"}, description = "passes over the data (default: ${DEFAULT-VALUE})")
    int numEpochs = 1;

    @Option(names = {"--max_steps", "--max-steps"},
            description = "stop after this many optimiser updates in all, 0 for no limit (default: ${DEFAULT-VALUE})")
    long maxSteps = 0;

    @Option(names = {"--dataset_name", "--dataset-name"},
            description = "a packaged dataset (" + "mnist, fashion-mnist, emoji-google, emoji-twitter, ...) or a folder of"
                    + " PNG/JPEG images (default: ${DEFAULT-VALUE})")
    String datasetName = "emoji-twitter";

    @Option(names = {"--classes"}, split = ",",
            description = "keep only these class names (e.g. \"Smileys & Emotion\" for the emoji sets), comma-separated"
                    + " (default: all)")
    List<String> classes = new ArrayList<>();

    @Option(names = {"--limit"}, description = "use at most this many images (a seeded subset), 0 for all (default: ${DEFAULT-VALUE})")
    int limit = 0;

    @Option(names = {"--flip"}, negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "random horizontal flips, as the course's transforms (default: ${DEFAULT-VALUE})")
    boolean flip = true;

    @Option(names = {"--device"}, description = "auto, cpu or gpu (default: ${DEFAULT-VALUE})")
    String device = "auto";

    @Option(names = {"--lr_gamma", "--lr-gamma"},
            description = "ExponentialLR gamma: the learning rate is multiplied by it after each epoch (default: ${DEFAULT-VALUE})")
    double lrGamma = 0.9;

    @Option(names = {"--weight_decay", "--weight-decay"}, description = "AdamW weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay = 0.01;

    @Option(names = {"--log_samples_every", "--log-samples-every"},
            description = "write a grid of 8 DDIM samples (50 steps) every this many updates, 0 for never (default: ${DEFAULT-VALUE})")
    int logSamplesEvery = 250;

    @Option(names = {"--save_model_every", "--save-model-every"},
            description = "write a checkpoint every this many updates, 0 for never (default: ${DEFAULT-VALUE})")
    int saveModelEvery = 2500;

    @Option(names = {"--keep_checkpoints", "--keep-checkpoints"}, description = "checkpoints to keep (default: ${DEFAULT-VALUE})")
    int keepCheckpoints = 2;

    @Option(names = {"--ema_decay", "--ema-decay"},
            description = "keep an exponential moving average of the weights with this maximum decay, 0 for none"
                    + " (default: ${DEFAULT-VALUE})")
    double emaDecay = 0;

    @Option(names = {"--max_grad_norm", "--max-grad-norm"},
            description = "clip the gradient norm to this, 0 for no clipping (default: ${DEFAULT-VALUE})")
    double maxGradNorm = 0;

    @Option(names = {"--summed_accumulation", "--summed-accumulation"},
            description = "the course notebook's loss.backward(loss): gradients of loss^2/2, summed over the accumulated"
                    + " batches (default: ${DEFAULT-VALUE}, i.e. averaged)")
    boolean summedAccumulation = false;

    @Option(names = {"--seed"}, description = "seed of the data order, flips, noise and timesteps (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = {"--resume"},
            description = "continue from the newest checkpoint in --log_dir (same optimiser state, step and random state)"
                    + " (default: ${DEFAULT-VALUE})")
    boolean resume = false;

    @Option(names = {"--progress"}, negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "one-line progress bar on stderr (default: ${DEFAULT-VALUE})")
    boolean progress = true;

    @Option(names = {"--wandb_project", "--wandb-project"},
            description = "accepted for compatibility with finetune_model.py and ignored: logs go to --log_dir"
                    + " (default: ${DEFAULT-VALUE})")
    String wandbProject = "dm-finetune";

    abstract double learningRate();

    abstract Path logDir();

    abstract Path modelSaveName();

    /** The device named by --device. */
    Device chosenDevice() {
        String d = device.trim().toLowerCase(java.util.Locale.ROOT);
        if (!List.of("auto", "cpu", "gpu", "cuda").contains(d) && !d.matches("(gpu|cuda):\\d+")) {
            throw new ParameterException(spec.commandLine(), "--device '" + device + "' is not a device: use auto, cpu or gpu");
        }
        return DeviceChoice.decide(d, null, Engine.getInstance().getGpuCount()).device();
    }

    /** Checks a positive integer option. */
    void positive(String option, long value) {
        if (value <= 0) {
            throw new ParameterException(spec.commandLine(), option + " must be positive, got " + value);
        }
    }

    /** Checks a non-negative integer option. */
    void nonNegative(String option, long value) {
        if (value < 0) {
            throw new ParameterException(spec.commandLine(), option + " must be 0 (off) or positive, got " + value);
        }
    }

    /** Checks the shared options. */
    void validateCommon() {
        positive("--batch_size", batchSize);
        positive("--grad_accumulation_steps", gradAccumulationSteps);
        positive("--num_epochs", numEpochs);
        nonNegative("--max_steps", maxSteps);
        nonNegative("--limit", limit);
        nonNegative("--log_samples_every", logSamplesEvery);
        nonNegative("--save_model_every", saveModelEvery);
        positive("--keep_checkpoints", keepCheckpoints);
        if (!(learningRate() > 0)) {
            throw new ParameterException(spec.commandLine(), "--lr must be positive, got " + learningRate());
        }
        if (!(lrGamma > 0) || lrGamma > 1) {
            throw new ParameterException(spec.commandLine(), "--lr_gamma must be in (0, 1], got " + lrGamma);
        }
        if (emaDecay < 0 || emaDecay >= 1) {
            throw new ParameterException(spec.commandLine(), "--ema_decay must be in [0, 1), got " + emaDecay);
        }
    }

    /** Loads --dataset_name, filtered by --classes and --limit, preprocessed to {@code size} pixels and {@code channels}. */
    ImageDataset loadDataset(int size, int channels) {
        ImageDataset ds;
        try {
            ds = PackagedDatasets.defaults().load(datasetName);
        } catch (DataException e) {
            throw new ParameterException(spec.commandLine(), "--dataset_name: " + e.getMessage());
        }
        if (!classes.isEmpty()) {
            List<String> names = ds.classNames();
            for (String c : classes) {
                if (!names.contains(c)) {
                    throw new ParameterException(spec.commandLine(), "--classes: '" + c + "' is not a class of " + ds.name()
                            + "; its classes are " + names);
                }
            }
            ImageDataset all = ds;
            int[] keep = java.util.stream.IntStream.range(0, all.length())
                    .filter(i -> all.label(i) >= 0 && classes.contains(names.get(all.label(i)))).toArray();
            ds = all.subset(keep);
        }
        if (limit > 0 && limit < ds.length()) {
            ds = ds.limit(limit, seed);
        }
        return ds.withPreprocess(Preprocess.course(size).withRandomFlip(flip).withChannels(channels));
    }

    /** The training settings of these options. */
    TrainingConfig trainingConfig() {
        return TrainingConfig.builder().optBatchSize(batchSize).optGradAccumulationSteps(gradAccumulationSteps)
                .optNumEpochs(numEpochs).optMaxSteps(maxSteps).optLearningRate(learningRate())
                .optWeightDecay(weightDecay).optLrGamma(lrGamma).optSeed(seed).optLogSamplesEvery(logSamplesEvery)
                .optSaveModelEvery(saveModelEvery).optKeepCheckpoints(keepCheckpoints).optEmaDecay(emaDecay)
                .optMaxGradNorm(maxGradNorm).optSummedAccumulation(summedAccumulation)
                .optLogDir(logDir()).optOutputDir(modelSaveName()).optProgressBar(progress).build();
    }

    /**
     * Runs the loop (resuming when asked) and prints the summary; a class-conditional model
     * ({@code num_class_embeds}) gets the dataset's labels.
     */
    TrainingSummary runTraining(NoisePredictor model, Scheduler scheduler, ImageDataset data)
            throws java.io.IOException {
        DiffusionTrainer trainer = new DiffusionTrainer(model, scheduler, data, trainingConfig());
        if (resume) {
            var st = trainer.resume(logDir());
            System.err.println("resuming at step " + st.globalStep() + " (epoch " + st.epoch() + ")");
        }
        System.err.println("training on " + data.length() + " images of " + data.name() + ": " + trainer.stepsPerEpoch()
                + " updates per epoch, " + trainer.totalSteps() + " in all; logs in " + logDir());
        TrainingSummary s = trainer.train();
        System.out.println(s);
        return s;
    }

    static String join(int[] a) {
        return Arrays.toString(a);
    }
}
