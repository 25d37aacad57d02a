package diffusionkit.clip;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import diffusionkit.data.ImageDataset;
import diffusionkit.training.AdamW;
import diffusionkit.training.TrainingChecks;
import diffusionkit.util.SeededNoise;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Trains a {@link ClipModel} on images and their captions with CLIP's contrastive loss
 * ({@link ClipModel#contrastiveLoss}), AdamW, and measures it: zero-shot classification and text-to-image retrieval.
 * Images are fed as guidance feeds x̂_0 ({@link ClipLoss#clipNormalize} of [-1, 1] images), so that the trained model
 * reads what the guided sampler gives it. Each step pairs every image of a shuffled batch with one of its captions,
 * drawn at random (a caption augmentation).
 */
public final class ClipTraining {

    /**
     * What training did.
     *
     * @param losses the loss of every step
     * @param seconds wall-clock time
     */
    public record Result(List<Double> losses, double seconds) {}

    /** Told the loss of every step. */
    @FunctionalInterface
    public interface Listener {
        /** After each optimiser step ({@code step} counts from 1). */
        void onStep(int step, double loss);
    }

    /** The text length of the emoji CLIP: emoji captions are short (the longest has under 20 tokens). */
    public static final int CONTEXT_LENGTH = 32;

    private final int steps;
    private final int batchSize;
    private final double learningRate;
    private final double weightDecay;
    private final long seed;
    private final Listener listener;
    private ClipAugment augment;

    /**
     * A training run.
     *
     * @param steps optimiser steps
     * @param batchSize image-caption pairs per step (the contrastive loss compares each with all the others)
     * @param learningRate AdamW's learning rate
     * @param weightDecay AdamW's weight decay
     * @param seed seed of the batch order and the caption choice
     * @param listener told every step's loss, or null
     */
    public ClipTraining(int steps, int batchSize, double learningRate, double weightDecay, long seed, Listener listener) {
        if (steps < 1 || batchSize < 2 || !(learningRate > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("CLIP training needs steps >= 1, batch size >= 2 (pairs to contrast), "
                    + "a learning rate > 0 and weight decay >= 0; got " + steps + ", " + batchSize + ", " + learningRate
                    + ", " + weightDecay);
        }
        this.steps = steps;
        this.batchSize = batchSize;
        this.learningRate = learningRate;
        this.weightDecay = weightDecay;
        this.seed = seed;
        this.listener = listener;
    }

    /**
     * Augments every image before the model sees it (null: none, the default): a fresh draw of crop, rotation and
     * flip for each group of {@value #AUGMENT_GROUP} images of a batch. The emoji CLIP is trained with
     * {@link ClipAugment#forImageSize}, which keeps the colours, as guidance with it uses.
     */
    public ClipTraining withAugment(ClipAugment augment) {
        this.augment = augment;
        return this;
    }

    /** Images of a batch that share one draw of the augmentation. */
    public static final int AUGMENT_GROUP = 8;

    /**
     * The emoji CLIP's architecture in transformers' {@code CLIPConfig}: both towers 3 layers of width 128 (4 heads,
     * MLP 512), images of {@code imageSize} in patches of 4 pixels, {@value #CONTEXT_LENGTH} text positions, the real
     * CLIP vocabulary, projections to 128; about 1.4 M parameters besides the 6.3 M of the token embedding.
     */
    public static ClipConfig emojiConfig(int imageSize) {
        com.google.gson.JsonObject text = tower();
        text.addProperty("max_position_embeddings", CONTEXT_LENGTH);
        com.google.gson.JsonObject vision = tower();
        vision.addProperty("image_size", imageSize);
        vision.addProperty("patch_size", 4);
        com.google.gson.JsonObject o = new com.google.gson.JsonObject();
        com.google.gson.JsonArray arch = new com.google.gson.JsonArray();
        arch.add("CLIPModel");
        o.add("architectures", arch);
        o.addProperty("model_type", "clip");
        o.addProperty("projection_dim", 128);
        o.addProperty("logit_scale_init_value", 2.6592);
        o.add("text_config", text);
        o.add("vision_config", vision);
        return ClipConfig.fromJson(o, "the emoji CLIP (ClipTraining.emojiConfig)");
    }

    private static com.google.gson.JsonObject tower() {
        com.google.gson.JsonObject t = new com.google.gson.JsonObject();
        t.addProperty("hidden_size", 128);
        t.addProperty("intermediate_size", 512);
        t.addProperty("num_attention_heads", 4);
        t.addProperty("num_hidden_layers", 3);
        return t;
    }

    /**
     * Trains {@code model} (its parameters are updated in place).
     *
     * @param images the images, preprocessed to the model's size and 3 channels (NCHW in [-1, 1])
     * @param captions one list of captions per image
     */
    public Result train(ClipModel model, ClipTokenizer tokenizer, ImageDataset images, List<List<String>> captions) {
        if (captions.size() != images.length()) {
            throw new IllegalArgumentException(images.length() + " images but " + captions.size() + " caption lists");
        }
        long start = System.nanoTime();
        var params = model.getParameters();
        AdamW adam = AdamW.builder().optLearningRate(learningRate).optWeightDecay(weightDecay)
                .optDevice(model.getLogitScale().getDevice()).build();
        SeededNoise pick = new SeededNoise(seed);
        List<Double> losses = new ArrayList<>();
        int epoch = 0;
        Iterator<int[]> batches = images.batches(batchSize, seed, epoch).iterator();
        model.setRequiresGradient(true);
        try {
            for (int step = 1; step <= steps; step++) {
                if (!batches.hasNext()) {
                    batches = images.batches(batchSize, seed, ++epoch).iterator();
                }
                int[] idx = batches.next();
                if (idx.length < 2) {                                 // a last batch of one has nothing to contrast
                    batches = images.batches(batchSize, seed, ++epoch).iterator();
                    idx = batches.next();
                }
                List<String> texts = new ArrayList<>();
                for (int i : idx) {
                    List<String> c = captions.get(i);
                    texts.add(c.get((int) pick.nextLong(c.size())));
                }
                double l;
                try (NDManager sm = model.getLogitScale().getManager().newSubManager();
                        ImageDataset.Batch b = images.batch(sm, idx, seed * 1_000_003L + step)) {
                    ClipTokenizer.Batch t = tokenizer.encodeBatch(texts, ClipTokenizer.Padding.EOS, sm);
                    // the model's ops put some results in the parameters' manager: the scope frees every array the
                    // forward and backward passes made (the gradients stay with the parameters)
                    try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray x = augment == null ? b.images() : augmented(b.images(), new java.util.Random(seed * 31 + step));
                        NDArray logits = model.forward(ClipLoss.clipNormalize(x), t.inputIds(), t.attentionMask())
                                .logitsPerText();
                        NDArray loss = ClipModel.contrastiveLoss(logits);
                        gc.backward(loss);
                        l = loss.getFloat();
                    }
                    TrainingChecks.requireFinite("training CLIP", l, params, step, epoch, learningRate, () -> null);
                    adam.step(params);
                    AdamW.zeroGradients(params);
                }
                losses.add(l);
                if (listener != null) {
                    listener.onStep(step, l);
                }
            }
        } finally {
            model.setRequiresGradient(false);
        }
        return new Result(List.copyOf(losses), (System.nanoTime() - start) / 1e9);
    }

    private NDArray augmented(NDArray images, java.util.Random rng) {
        long n = images.getShape().get(0);
        List<NDArray> parts = new ArrayList<>();
        for (long i = 0; i < n; i += AUGMENT_GROUP) {
            parts.add(augment.apply(images.get(i + ":" + Math.min(n, i + AUGMENT_GROUP)), rng));
        }
        return parts.size() == 1 ? parts.get(0) : ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(parts));
    }

    /**
     * The share of {@code images} whose most similar text among {@code classPrompts} is their label's: CLIP's zero-shot
     * classification.
     */
    public static double zeroShotAccuracy(ClipModel model, ClipTokenizer tokenizer, ImageDataset images,
            List<String> classPrompts) {
        long correct = 0;
        try (NDManager m = model.getLogitScale().getManager().newSubManager()) {
            for (int[] idx : images.inOrder(256)) {
                try (NDManager sm = m.newSubManager(); ImageDataset.Batch b = images.batch(sm, idx, 0)) {
                    long[] best = ClipLoss.bestMatch(model, tokenizer, b.images(), classPrompts);
                    for (int i = 0; i < idx.length; i++) {
                        correct += best[i] == images.label(idx[i]) ? 1 : 0;
                    }
                }
            }
        }
        return (double) correct / images.length();
    }

    /**
     * Text-to-image retrieval: the share of texts (text i describes image i) whose image is among the {@code k}
     * images most similar to them.
     */
    public static double recallAtK(ClipModel model, ClipTokenizer tokenizer, ImageDataset images, IntFunction<String> text,
            int k) {
        try (NDScope scope = new NDScope(); NDManager m = model.getLogitScale().getManager().newSubManager()) {
            List<NDArray> imageParts = new ArrayList<>();
            List<NDArray> textParts = new ArrayList<>();
            for (int[] idx : images.inOrder(256)) {
                ImageDataset.Batch b = images.batch(m, idx, 0);
                imageParts.add(ClipModel.normalize(model.getImageFeatures(ClipLoss.clipNormalize(b.images()))));
                List<String> texts = new ArrayList<>();
                for (int i : idx) {
                    texts.add(text.apply(i));
                }
                ClipTokenizer.Batch t = tokenizer.encodeBatch(texts, ClipTokenizer.Padding.EOS, m);
                textParts.add(ClipModel.normalize(model.getTextFeatures(t.inputIds(), t.attentionMask())));
            }
            NDArray imagesAll = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(imageParts));
            NDArray textsAll = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(textParts));
            float[] sim = textsAll.matMul(imagesAll.transpose()).toFloatArray();
            int n = images.length();
            long hits = 0;
            for (int i = 0; i < n; i++) {
                int better = 0;
                for (int j = 0; j < n; j++) {
                    better += sim[i * n + j] > sim[i * n + i] ? 1 : 0;
                }
                hits += better < k ? 1 : 0;
            }
            return (double) hits / n;
        }
    }
}
