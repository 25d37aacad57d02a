package diffusionkit.cli;

import diffusionkit.data.DataException;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.models.NoisePredictor;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.training.DiffusionTrainer;
import diffusionkit.training.TrainerState;
import diffusionkit.training.TrainingConfig;
import diffusionkit.training.TrainingListener;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The options every training command shares, and the run they make: those of the course's
 * {@code finetune_model.py} (with its defaults; both spellings, {@code --batch_size} and {@code --batch-size}) plus
 * the kit's. {@code train-conditional} sets the class-conditioning notebook's defaults in its constructor and keeps its
 * own names as aliases ({@code --epochs}, {@code --dataset}, {@code --checkpoint-every}, {@code --output}).
 */
abstract class TrainOptions extends KitCommand {

    /** The final model's folder inside the run's folder, unless --model_save_name says otherwise. */
    public static final String MODEL_FOLDER = "model";

    @Option(names = {"--batch_size", "--batch-size"}, description = "images per batch (default: ${DEFAULT-VALUE})")
    int batchSize = 16;

    @Option(names = {"--grad_accumulation_steps", "--grad-accumulation-steps"},
            description = "batches per optimiser update; the loss of each is divided by this (default: ${DEFAULT-VALUE})")
    int gradAccumulationSteps = 2;

    @Option(names = {"--num_epochs", "--num-epochs", "--epochs"}, description = "passes over the data (default: ${DEFAULT-VALUE})")
    int numEpochs = 1;

    @Option(names = {"--max_steps", "--max-steps"},
            description = "stop after this many optimiser updates in all, 0 for no limit (default: ${DEFAULT-VALUE})")
    long maxSteps = 0;

    @Option(names = {"--dataset_name", "--dataset-name", "--dataset"},
            description = "a packaged dataset (mnist, fashion-mnist-train, emoji-google, emoji-twitter, ...) or a folder of"
                    + " PNG/JPEG images (default: ${DEFAULT-VALUE})")
    String datasetName = "emoji-twitter";

    @Option(names = {"--classes"}, split = ",",
            description = "keep only these class names (e.g. \"Smileys & Emotion\" for the emoji sets), comma-separated"
                    + " (default: all)")
    List<String> classes = new ArrayList<>();

    @Option(names = {"--limit"}, description = "use at most this many images (a seeded subset), 0 for all (default: ${DEFAULT-VALUE})")
    int limit = 0;

    @Option(names = {"--flip"}, negatable = true, fallbackValue = "true",
            description = "random horizontal flips, as the course's transforms (default: ${DEFAULT-VALUE})")
    boolean flip = true;

    @Option(names = {"--device"}, description = "auto, cpu or gpu (default: ${DEFAULT-VALUE})")
    String device = "auto";

    @Option(names = {"--lr"}, description = "AdamW learning rate (default: ${DEFAULT-VALUE})")
    double lr = 1e-5;

    @Option(names = {"--lr_gamma", "--lr-gamma"},
            description = "ExponentialLR gamma: the learning rate is multiplied by it after each epoch (default: ${DEFAULT-VALUE})")
    double lrGamma = 0.9;

    @Option(names = {"--weight_decay", "--weight-decay"}, description = "AdamW weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay = 0.01;

    @Option(names = {"--log_samples_every", "--log-samples-every"},
            description = "write a grid of 8 DDIM samples (50 steps) of a UNet2DModel every this many updates, 0 for never"
                    + " (default: ${DEFAULT-VALUE})")
    int logSamplesEvery = 250;

    @Option(names = {"--save_model_every", "--save-model-every", "--checkpoint-every"},
            description = "write a checkpoint every this many updates, 0 for never (train-conditional also writes one at"
                    + " the end) (default: ${DEFAULT-VALUE})")
    int saveModelEvery = 2500;

    @Option(names = {"--keep_checkpoints", "--keep-checkpoints"}, description = "checkpoints to keep (default: ${DEFAULT-VALUE})")
    int keepCheckpoints = 2;

    @Option(names = {"--ema_decay", "--ema-decay"},
            description = "keep an exponential moving average of the weights with this maximum decay (e.g. 0.999), 0 for"
                    + " none; the final model gets the averaged weights (default: ${DEFAULT-VALUE})")
    double emaDecay = 0;

    @Option(names = {"--max_grad_norm", "--max-grad-norm"},
            description = "clip the gradient norm to this, 0 for no clipping (default: ${DEFAULT-VALUE})")
    double maxGradNorm = 0;

    @Option(names = {"--summed_accumulation", "--summed-accumulation"},
            description = "the course notebook's loss.backward(loss): gradients of loss^2/2, summed over the accumulated"
                    + " batches (default: ${DEFAULT-VALUE}, i.e. averaged)")
    boolean summedAccumulation = false;

    @Option(names = {"--seed"},
            description = "seed of the data order, flips, noise and timesteps, and of a new model's weights"
                    + " (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = {"--resume"},
            description = "continue from the newest checkpoint in --log_dir (the same optimiser state, step and random state)"
                    + " (default: ${DEFAULT-VALUE})")
    boolean resume = false;

    @Option(names = {"--progress"}, negatable = true, fallbackValue = "true",
            description = "one-line progress bar on stderr (default: ${DEFAULT-VALUE})")
    boolean progress = true;

    @Option(names = {"--log_dir", "--log-dir", "--output"},
            description = "the run's folder: loss.csv, loss.png, summary.json, samples/ and checkpoints/"
                    + " (default: ${DEFAULT-VALUE})")
    Path logDir;

    @Option(names = {"--model_save_name", "--model-save-name"},
            description = "folder the trained model is saved to (default: <log_dir>/" + MODEL_FOLDER + ")")
    Path modelSaveName;

    @Option(names = {"--wandb_project", "--wandb-project"},
            description = "accepted for compatibility with finetune_model.py and ignored: logs go to --log_dir"
                    + " (default: ${DEFAULT-VALUE})")
    String wandbProject = "dm-finetune";

    /** @param run the default run folder's name under {@code runs/} */
    TrainOptions(String run) {
        logDir = Path.of("runs", run);
    }

    /** These options on {@code recipe} (which sets what has no option here); a bad value names its option. */
    TrainingConfig trainingConfig(TrainingConfig.Builder recipe) {
        nonNegative("--limit", limit);
        try {
            return recipe.optBatchSize(batchSize).optGradAccumulationSteps(gradAccumulationSteps).optNumEpochs(numEpochs)
                    .optMaxSteps(maxSteps).optLearningRate(lr).optWeightDecay(weightDecay).optLrGamma(lrGamma).optSeed(seed)
                    .optLogSamplesEvery(logSamplesEvery).optSaveModelEvery(saveModelEvery)
                    .optKeepCheckpoints(keepCheckpoints).optEmaDecay(emaDecay).optMaxGradNorm(maxGradNorm)
                    .optSummedAccumulation(summedAccumulation).optProgressBar(progress).optLogDir(logDir)
                    .optOutputDir(modelSaveName != null ? modelSaveName : logDir.resolve(MODEL_FOLDER)).build();
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    /** Loads --dataset_name, filtered by --classes and --limit, served with {@code preprocess} (and --flip). */
    ImageDataset loadDataset(Preprocess preprocess) {
        ImageDataset ds;
        try {
            ds = PackagedDatasets.defaults().load(datasetName);
        } catch (DataException e) {
            throw bad("--dataset_name: " + e.getMessage());
        }
        if (!classes.isEmpty()) {
            List<String> names = ds.classNames();
            for (String c : classes) {
                if (!names.contains(c)) {
                    throw bad("--classes: '" + c + "' is not a class of " + ds.name() + "; its classes are " + names);
                }
            }
            ImageDataset all = ds;
            ds = all.subset(IntStream.range(0, all.length())
                    .filter(i -> all.label(i) >= 0 && classes.contains(names.get(all.label(i)))).toArray());
        }
        if (limit > 0) {
            ds = ds.limit(limit, seed);
        }
        System.err.println("data: " + ds.length() + " images of " + ds.name());
        return ds.withPreprocess(preprocess.withRandomFlip(flip));
    }

    /**
     * Trains {@code model} with {@code listeners}, first resuming from {@code checkpoint} (null: a fresh run), and
     * prints the summary; a model that does not fit the data or the settings is a usage error.
     *
     * @return the trainer, after training
     */
    DiffusionTrainer train(NoisePredictor model, Scheduler scheduler, ImageDataset data, TrainingConfig config,
            Path checkpoint, TrainingListener... listeners) throws IOException {
        DiffusionTrainer trainer;
        try {
            trainer = new DiffusionTrainer(model, scheduler, data, config);
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        Arrays.stream(listeners).forEach(trainer::addListener);
        if (checkpoint != null) {
            TrainerState st = trainer.resume(checkpoint);
            System.err.println("resumed from " + checkpoint + " at step " + st.globalStep() + " (epoch " + st.epoch() + ")");
        }
        System.err.println("training: " + trainer.stepsPerEpoch() + " updates per epoch, " + trainer.totalSteps()
                + " in all; logs in " + logDir);
        System.out.println(trainer.train());
        return trainer;
    }
}
