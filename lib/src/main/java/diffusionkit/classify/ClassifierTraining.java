package diffusionkit.classify;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import diffusionkit.data.ImageDataset;
import diffusionkit.training.AdamW;
import diffusionkit.training.TrainingChecks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Trains a {@link Classifier} on a labelled {@link ImageDataset} (e.g. Fashion-MNIST as RGB at the diffusion
 * model's size for an {@link ImageClassifier}, MNIST for a {@link MnistClassifier}), with AdamW and cross-entropy:
 * the one classifier training loop of the kit.
 *
 * <pre>{@code
 * ImageDataset train = PackagedDatasets.defaults().load("fashion-mnist-train")
 *         .withPreprocess(Preprocess.NONE.withImageSize(32).withChannels(3));
 * ImageClassifier c = new ImageClassifier(new ImageClassifier.Config(3, 32, new int[] {32, 64, 128},
 *         train.classNames()), manager);
 * ClassifierTraining.Result r = ClassifierTraining.builder().optEpochs(1).build().train(c, train);
 * double acc = c.accuracy(test, 256);
 * }</pre>
 *
 * Optionally ({@link Builder#optNoiseStd}) the training images get Gaussian noise of a random strength, which makes
 * the classifier read the blurry, noisy x̂_0 of early sampling steps better.
 */
public final class ClassifierTraining {

    /** Told the loss of every step. */
    @FunctionalInterface
    public interface Listener {
        /** Called after each optimiser step. */
        void onStep(int step, double loss);
    }

    /**
     * What training did.
     *
     * @param losses the loss of every step
     * @param steps the number of steps
     * @param seconds wall-clock time
     */
    public record Result(List<Double> losses, int steps, double seconds) {}

    private final Builder s; // the settings, a copy made by build()

    private ClassifierTraining(Builder settings) {
        this.s = settings;
    }

    /** A builder with defaults: 1 epoch, batch 64, learning rate 2e-3, weight decay 1e-4, seed 0. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The recipe of the shipped {@link MnistClassifier} ({@code datasets/models/mnist-classifier}): 2 epochs of
     * batch 64, Adam (AdamW without weight decay) at 1e-3, seed 0, no noise.
     */
    public static Builder mnist() {
        return new Builder().optEpochs(2).optBatchSize(64).optLearningRate(1e-3).optWeightDecay(0);
    }

    /**
     * Trains {@code classifier} on {@code data} (images as the dataset's preprocess gives them, NCHW in [-1, 1]).
     * Leaves the classifier's parameters not requiring gradients (ready for guidance).
     *
     * @throws IllegalArgumentException when the dataset has no labels or other channels than the classifier
     */
    public Result train(Classifier classifier, ImageDataset data) {
        if (!data.isLabelled()) {
            throw new IllegalArgumentException("dataset '" + data.name() + "' has no labels: a classifier needs a "
                    + "labelled dataset such as fashion-mnist-train");
        }
        if (classifier instanceof ImageClassifier ic && data.outputChannels() != ic.config().inChannels()) {
            throw new IllegalArgumentException("dataset '" + data.name() + "' gives " + data.outputChannels()
                    + "-channel images, the classifier takes " + ic.config().inChannels()
                    + ": use data.withPreprocess(Preprocess.NONE.withImageSize(size).withChannels("
                    + ic.config().inChannels() + "))");
        }
        long start = System.nanoTime();
        Map<String, NDArray> params = classifier.stateDict();
        AdamW opt = AdamW.builder().optLearningRate(s.learningRate).optWeightDecay(s.weightDecay)
                .optDevice(classifier.manager().getDevice()).build();
        List<Double> losses = new ArrayList<>();
        java.util.Random noiseRng = new java.util.Random(s.seed ^ 0x5DEECE66DL);
        classifier.setRequiresGradient(true);
        int step = 0;
        try {
            outer:
            for (int epoch = 0; epoch < s.epochs; epoch++) {
                for (int[] idx : data.batches(s.batchSize, s.seed, epoch)) {
                    if (s.maxSteps > 0 && step >= s.maxSteps) {
                        break outer;
                    }
                    try (NDManager m = classifier.manager().newSubManager();
                            ImageDataset.Batch batch = data.batch(m, idx, s.seed * 1_000_003L + step)) {
                        NDArray x = batch.images().toDevice(m.getDevice(), false);
                        NDArray y = batch.labels().toDevice(m.getDevice(), false);
                        if (s.noiseStd > 0) {
                            float[] levels = new float[idx.length];
                            for (int i = 0; i < levels.length; i++) {
                                levels[i] = (float) (noiseRng.nextDouble() * s.noiseStd);
                            }
                            NDArray s = m.create(levels).reshape(-1, 1, 1, 1);
                            x = x.add(m.randomNormal(x.getShape()).mul(s));
                        }
                        AdamW.zeroGradients(params);
                        double l;
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray loss = Classifier.crossEntropy(classifier.logits(x), y);
                            gc.backward(loss);
                            l = loss.getFloat();
                        }
                        TrainingChecks.requireFinite("training the classifier", l, params, step + 1, epoch,
                                opt.learningRate(), () -> null);
                        opt.step(params);
                        losses.add(l);
                        if (s.listener != null) {
                            s.listener.onStep(step, l);
                        }
                        step++;
                    }
                }
            }
        } finally {
            classifier.setRequiresGradient(false);
        }
        return new Result(List.copyOf(losses), step, (System.nanoTime() - start) / 1e9);
    }

    /** Builder of {@link ClassifierTraining}. */
    public static final class Builder implements Cloneable {
        private int epochs = 1;
        private int maxSteps;
        private int batchSize = 64;
        private double learningRate = 2e-3;
        private double weightDecay = 1e-4;
        private double noiseStd;
        private long seed;
        private Listener listener;

        private Builder() {}

        /** Passes over the data (default 1). */
        public Builder optEpochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /** Stop after this many steps (0: no limit, the default). */
        public Builder optMaxSteps(int steps) {
            this.maxSteps = steps;
            return this;
        }

        /** Images per step (default 64). */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** AdamW's learning rate (default 2e-3). */
        public Builder optLearningRate(double lr) {
            this.learningRate = lr;
            return this;
        }

        /** AdamW's weight decay (default 1e-4). */
        public Builder optWeightDecay(double wd) {
            this.weightDecay = wd;
            return this;
        }

        /** Adds N(0, s²) noise with s uniform in [0, noiseStd] to each training image (default 0: none). */
        public Builder optNoiseStd(double noiseStd) {
            this.noiseStd = noiseStd;
            return this;
        }

        /** Seed of the batch order, augmentation and noise (default 0). */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Told the loss after every step. */
        public Builder optListener(Listener listener) {
            this.listener = listener;
            return this;
        }

        /** Builds the trainer. */
        public ClassifierTraining build() {
            if (epochs < 1 || batchSize < 1 || maxSteps < 0 || !(learningRate > 0)) {
                throw new IllegalArgumentException("classifier training needs epochs >= 1, batch size >= 1, max steps "
                        + ">= 0 and a learning rate > 0; got " + epochs + ", " + batchSize + ", " + maxSteps + ", "
                        + learningRate);
            }
            try {
                return new ClassifierTraining((Builder) clone());
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
