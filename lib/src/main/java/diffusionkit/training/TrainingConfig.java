package diffusionkit.training;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;

import java.nio.file.Path;

/**
 * The settings of a {@link DiffusionTrainer} run (immutable; build with {@link #builder()}). Names follow the
 * course's {@code finetune_model.py} where it has them.
 *
 * <p>A <em>step</em> is one optimiser update: {@code gradAccumulationSteps} batches of {@code batchSize} images.
 * {@code logSamplesEvery}, {@code saveModelEvery} and {@code maxSteps} count these updates.
 *
 * @param batchSize images per micro-batch (the script's {@code batch_size})
 * @param gradAccumulationSteps micro-batches per update ({@code grad_accumulation_steps})
 * @param numEpochs passes over the data ({@code num_epochs})
 * @param maxSteps stop after this many updates in all (0: no limit)
 * @param learningRate AdamW's learning rate (1e-5 in {@code finetune_model.py})
 * @param weightDecay AdamW's decoupled weight decay (PyTorch's default 0.01)
 * @param beta1 AdamW β1 (0.9)
 * @param beta2 AdamW β2 (0.999)
 * @param eps AdamW ε (1e-8)
 * @param lrGamma ExponentialLR's γ, applied after each epoch (0.9 in the script; 1 keeps the rate)
 * @param seed seeds the data order, the flips, the noise, the timesteps and the label dropout
 * @param logSamplesEvery every this many updates, a grid of {@code numSampleImages} DDIM samples (0: never)
 * @param numSampleImages images per sample grid (8, as the script)
 * @param sampleSteps DDIM steps for the sample grids (50, as the script)
 * @param saveModelEvery every this many updates, a checkpoint (0: never)
 * @param keepCheckpoints how many checkpoint folders to keep (the newest ones)
 * @param emaDecay maximum decay of an exponential moving average of the weights (0: no EMA)
 * @param maxGradNorm clip the gradient's global L2 norm to this before each update (0: no clipping)
 * @param labelDropout probability of replacing each label by the model's null class (classifier-free guidance
 *     training, Ho and Salimans 2022; 0: off, the course). Needs a class-conditional model with a null class
 * @param timestepBound timesteps are drawn from {@code 0 … timestepBound − 1} (0: all {@code num_train_timesteps};
 *     the class-conditioning notebook's {@code torch.randint(0, 999)} is 999, so t = 999 is never trained)
 * @param stopAtMillis stop before the first update after this wall-clock time ({@code System.currentTimeMillis()};
 *     0: never), as {@code train-conditional --stop-at}
 * @param summedAccumulation reproduce the course notebook's {@code loss.backward(loss)} (see
 *     {@link DiffusionTrainer}) instead of the averaged {@code (loss / k).backward()}
 * @param logDir where the loss table, sample grids, loss chart and checkpoints go (null: nowhere)
 * @param outputDir where the final pipeline is saved ({@code model_save_name}; null: not saved)
 * @param progressBar draw a one-line progress bar on stderr
 */
public record TrainingConfig(int batchSize, int gradAccumulationSteps, int numEpochs, long maxSteps, double learningRate,
        double weightDecay, double beta1, double beta2, double eps, double lrGamma, long seed, int logSamplesEvery,
        int numSampleImages, int sampleSteps, int saveModelEvery, int keepCheckpoints, double emaDecay, double maxGradNorm,
        double labelDropout, long timestepBound, long stopAtMillis, boolean summedAccumulation, Path logDir,
        Path outputDir, boolean progressBar) {

    /** Pretty JSON, NaN allowed, paths as strings: for a run's files ({@link TrainerState} too). */
    static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
            .registerTypeHierarchyAdapter(Path.class, (JsonSerializer<Path>) (p, type, c) -> new JsonPrimitive(p.toString()))
            .create();

    /** Checks every value; each error names the command-line option (where there is one), the setting and the fix. */
    public TrainingConfig {
        check(batchSize > 0, "--batch_size", "batchSize", "positive", batchSize);
        check(gradAccumulationSteps > 0, "--grad_accumulation_steps", "gradAccumulationSteps", "positive", gradAccumulationSteps);
        check(numEpochs > 0, "--num_epochs", "numEpochs", "positive", numEpochs);
        check(maxSteps >= 0, "--max_steps", "maxSteps", ">= 0 (0: no limit)", maxSteps);
        check(learningRate > 0 && !Double.isInfinite(learningRate), "--lr", "learningRate", "positive", learningRate);
        check(weightDecay >= 0, "--weight_decay", "weightDecay", ">= 0", weightDecay);
        check(lrGamma > 0 && lrGamma <= 1, "--lr_gamma", "lrGamma", "in (0, 1] (ExponentialLR gamma)", lrGamma);
        check(logSamplesEvery >= 0, "--log_samples_every", "logSamplesEvery", ">= 0 (0: never)", logSamplesEvery);
        check(numSampleImages > 0, null, "numSampleImages", "positive", numSampleImages);
        check(sampleSteps > 0, null, "sampleSteps", "positive", sampleSteps);
        check(saveModelEvery >= 0, "--save_model_every", "saveModelEvery", ">= 0 (0: never)", saveModelEvery);
        check(keepCheckpoints > 0, "--keep_checkpoints", "keepCheckpoints", "positive", keepCheckpoints);
        check(emaDecay >= 0 && emaDecay < 1, "--ema_decay", "emaDecay", "in [0, 1) (0: no EMA)", emaDecay);
        check(maxGradNorm >= 0, "--max_grad_norm", "maxGradNorm", ">= 0 (0: no clipping)", maxGradNorm);
        check(labelDropout >= 0 && labelDropout < 1, "--label-dropout", "labelDropout", "in [0, 1) (0: off)", labelDropout);
        check(timestepBound >= 0, null, "timestepBound", ">= 0 (0: all)", timestepBound);
        check(stopAtMillis >= 0, null, "stopAtMillis", ">= 0 (0: never)", stopAtMillis);
    }

    /** E.g. "--batch_size must be positive, got 0 (batchSize)". */
    private static void check(boolean ok, String option, String name, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(option == null ? name + " must be " + rule + ", got " + value
                    : option + " must be " + rule + ", got " + value + " (" + name + ")");
        }
    }

    /** A builder with the defaults listed on {@link Builder}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The class-conditioning notebook's recipe (Unit 2, notebook 2): batch 128, 10 epochs, {@code Adam(lr=1e-3)}
     * (AdamW with weight decay 0), timesteps from {@code torch.randint(0, 999)}, no label dropout; the rest as
     * {@link #builder()}.
     */
    public static Builder conditionalCourse() {
        return builder().optBatchSize(128).optNumEpochs(10).optLearningRate(1e-3).optWeightDecay(0).optTimestepBound(999);
    }

    /** A builder that starts from this config. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.batchSize = batchSize;
        b.gradAccumulationSteps = gradAccumulationSteps;
        b.numEpochs = numEpochs;
        b.maxSteps = maxSteps;
        b.learningRate = learningRate;
        b.weightDecay = weightDecay;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.eps = eps;
        b.lrGamma = lrGamma;
        b.seed = seed;
        b.logSamplesEvery = logSamplesEvery;
        b.numSampleImages = numSampleImages;
        b.sampleSteps = sampleSteps;
        b.saveModelEvery = saveModelEvery;
        b.keepCheckpoints = keepCheckpoints;
        b.emaDecay = emaDecay;
        b.maxGradNorm = maxGradNorm;
        b.labelDropout = labelDropout;
        b.timestepBound = timestepBound;
        b.stopAtMillis = stopAtMillis;
        b.summedAccumulation = summedAccumulation;
        b.logDir = logDir;
        b.outputDir = outputDir;
        b.progressBar = progressBar;
        return b;
    }

    /** The config as JSON (paths as strings), as stored in {@code trainer_state.json}. */
    public String toJson() {
        return GSON.toJson(this);
    }

    /** Builder of {@link TrainingConfig}. Defaults: those of {@code finetune_model.py} except where noted. */
    public static final class Builder {
        private int batchSize = 16;
        private int gradAccumulationSteps = 1;
        private int numEpochs = 1;
        private long maxSteps;
        private double learningRate = 1e-5;
        private double weightDecay = 0.01;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double lrGamma = 1.0;
        private long seed;
        private int logSamplesEvery;
        private int numSampleImages = 8;
        private int sampleSteps = 50;
        private int saveModelEvery;
        private int keepCheckpoints = 2;
        private double emaDecay;
        private double maxGradNorm;
        private double labelDropout;
        private long timestepBound;
        private long stopAtMillis;
        private boolean summedAccumulation;
        private Path logDir;
        private Path outputDir;
        private boolean progressBar;

        /** Images per micro-batch (16). */
        public Builder optBatchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Micro-batches per update (1; the script's default is 2). */
        public Builder optGradAccumulationSteps(int v) {
            gradAccumulationSteps = v;
            return this;
        }

        /** Epochs (1). */
        public Builder optNumEpochs(int v) {
            numEpochs = v;
            return this;
        }

        /** Stop after this many updates in all (0: no limit). */
        public Builder optMaxSteps(long v) {
            maxSteps = v;
            return this;
        }

        /** Learning rate (1e-5). */
        public Builder optLearningRate(double v) {
            learningRate = v;
            return this;
        }

        /** AdamW weight decay (0.01). */
        public Builder optWeightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /** AdamW betas (0.9, 0.999). */
        public Builder optBetas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }

        /** AdamW ε (1e-8). */
        public Builder optEps(double v) {
            eps = v;
            return this;
        }

        /** ExponentialLR γ per epoch (1: constant; the script uses 0.9). */
        public Builder optLrGamma(double v) {
            lrGamma = v;
            return this;
        }

        /** Seed of data order, flips, noise and timesteps (0). */
        public Builder optSeed(long v) {
            seed = v;
            return this;
        }

        /** Sample grid every this many updates (0: never). */
        public Builder optLogSamplesEvery(int v) {
            logSamplesEvery = v;
            return this;
        }

        /** Images per sample grid (8). */
        public Builder optNumSampleImages(int v) {
            numSampleImages = v;
            return this;
        }

        /** DDIM steps for sample grids (50). */
        public Builder optSampleSteps(int v) {
            sampleSteps = v;
            return this;
        }

        /** Checkpoint every this many updates (0: never). */
        public Builder optSaveModelEvery(int v) {
            saveModelEvery = v;
            return this;
        }

        /** Checkpoints to keep (2). */
        public Builder optKeepCheckpoints(int v) {
            keepCheckpoints = v;
            return this;
        }

        /** EMA maximum decay, e.g. 0.999 (0: no EMA). */
        public Builder optEmaDecay(double v) {
            emaDecay = v;
            return this;
        }

        /** Gradient clipping to this global norm (0: none). */
        public Builder optMaxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /** Probability of replacing a label by the model's null class (0: off). */
        public Builder optLabelDropout(double v) {
            labelDropout = v;
            return this;
        }

        /** Draw timesteps from {@code 0 … v − 1} (0: all {@code num_train_timesteps}; the class notebook: 999). */
        public Builder optTimestepBound(long v) {
            timestepBound = v;
            return this;
        }

        /** Stop before the first update after this {@code System.currentTimeMillis()} (0: never). */
        public Builder optStopAtMillis(long v) {
            stopAtMillis = v;
            return this;
        }

        /** The course notebook's summed {@code loss.backward(loss)} accumulation (false: averaged). */
        public Builder optSummedAccumulation(boolean v) {
            summedAccumulation = v;
            return this;
        }

        /** Folder of logs and checkpoints (null: none). */
        public Builder optLogDir(Path v) {
            logDir = v;
            return this;
        }

        /** Folder of the final pipeline (null: not saved). */
        public Builder optOutputDir(Path v) {
            outputDir = v;
            return this;
        }

        /** One-line progress bar on stderr (false). */
        public Builder optProgressBar(boolean v) {
            progressBar = v;
            return this;
        }

        /** The config; throws IllegalArgumentException naming a bad value. */
        public TrainingConfig build() {
            return new TrainingConfig(batchSize, gradAccumulationSteps, numEpochs, maxSteps, learningRate, weightDecay,
                    beta1, beta2, eps, lrGamma, seed, logSamplesEvery, numSampleImages, sampleSteps, saveModelEvery,
                    keepCheckpoints, emaDecay, maxGradNorm, labelDropout, timestepBound, stopAtMillis, summedAccumulation, logDir,
                    outputDir, progressBar);
        }
    }
}
