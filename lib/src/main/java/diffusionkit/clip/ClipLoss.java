package diffusionkit.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.util.Scalars;

import java.util.List;
import java.util.Random;

/**
 * The CLIP guidance loss of the Hugging Face Diffusion Models course (Unit 2, "CLIP Guidance"):
 *
 * <pre>
 * image_features = clip_model.encode_image(tfms(image))          # tfms: crop, rotate, flip, Normalize
 * u = normalize(image_features);  v = normalize(text_features)
 * loss = mean( 2 * arcsin(||u - v|| / 2)^2 )                     # squared great-circle distance
 * </pre>
 *
 * averaged over {@code nCuts} independent augmentations (the course averages the gradients of {@code n_cuts}
 * losses, which is the gradient of their mean). The image is the model's {@code pred_original_sample} in [-1, 1]
 * and, as in the course, CLIP's {@code Normalize(mean, std)} is applied to it directly (no [0, 1] mapping).
 *
 * <p>Built with {@link #builder()}; the random augmentations are seeded and the generator advances on every call,
 * so a run is reproducible while each call draws new cuts. Everything is NDArray arithmetic: call
 * {@link #compute} inside a {@code GradientCollector} to get d loss / d image.
 */
public final class ClipLoss {

    /** CLIP's per-channel mean (OpenAI's preprocessing, {@code image_mean} of transformers' CLIPImageProcessor). */
    public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    /** CLIP's per-channel standard deviation. */
    public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private final ClipModel model;
    private final int nCuts;
    private final ClipAugment augment;
    private final Random rng;

    private ClipLoss(Builder b) {
        this.model = b.model;
        this.nCuts = b.nCuts;
        this.augment = b.augmentation != null ? b.augmentation
                : b.augment ? ClipAugment.forImageSize(model.getConfig().visionConfig().imageSize()) : null;
        this.rng = new Random(b.seed);
    }

    /** A builder: {@code setModel} is required; defaults are 1 cut, no augmentation, seed 0. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder of {@link ClipLoss}. */
    public static final class Builder {
        private ClipModel model;
        private int nCuts = 1;
        private boolean augment;
        private ClipAugment augmentation;
        private long seed;

        private Builder() {}

        /** The CLIP model (required). */
        public Builder setModel(ClipModel model) {
            this.model = model;
            return this;
        }

        /** Number of augmented cuts averaged per call ({@code n_cuts}, 4 in the course). */
        public Builder optCuts(int nCuts) {
            if (nCuts < 1) {
                throw new IllegalArgumentException("nCuts must be at least 1, got " + nCuts);
            }
            this.nCuts = nCuts;
            return this;
        }

        /**
         * Whether to apply random crops, rotations and flips before Normalize: {@link ClipAugment#forImageSize} of the
         * model's input side (the course's for a 224-pixel CLIP).
         */
        public Builder optAugment(boolean augment) {
            this.augment = augment;
            return this;
        }

        /** The augmentation to apply before Normalize (overrides {@link #optAugment}). */
        public Builder optAugmentation(ClipAugment augmentation) {
            this.augmentation = augmentation;
            return this;
        }

        /** Seed of the augmentations. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Builds the loss. */
        public ClipLoss build() {
            if (model == null) {
                throw new IllegalStateException("ClipLoss needs a model: call setModel(ClipModel.fromPretrained(folder, manager))");
            }
            return new ClipLoss(this);
        }
    }

    /**
     * The loss of {@code image} (in [-1, 1], [B, C, H, W]) against {@code textFeatures} ([P] or [T, P], e.g. from
     * {@link #textFeatures}): the mean over {@code nCuts} of {@link #sphericalDistanceLoss} of
     * CLIP(Normalize(augment(image))). Without augmentation an image that is not image_size square is resized
     * (bilinear) first. A scalar.
     */
    public NDArray compute(NDArray image, NDArray textFeatures) {
        Shape s = image.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("ClipLoss: the image must be [batch, 3, height, width] in [-1, 1], got " + s
                    + ": pass the predicted x0 of a batch (add a batch axis to a single image with expandDims(0)).");
        }
        NDArray total = null;
        for (int cut = 0; cut < nCuts; cut++) {
            ClipAugment.Params p = augment == null ? null : augment.sample(rng, (int) s.get(2), (int) s.get(3));
            NDArray loss = cutLoss(image, textFeatures, p);
            total = total == null ? loss : total.add(loss);
        }
        return nCuts == 1 ? total : Scalars.div(total, nCuts);
    }

    /**
     * The loss of one cut: {@link #sphericalDistanceLoss} of CLIP(Normalize(augment(image, p))), or, with {@code p}
     * null (no augmentation), of the image resized to image_size when it is not that size already. {@link #compute}
     * is the mean of this over the parameters its generator draws, one {@link ClipAugment#sample} per cut in order.
     */
    NDArray cutLoss(NDArray image, NDArray textFeatures, ClipAugment.Params p) {
        NDArray x = p != null ? ClipAugment.apply(image, p, model.getConfig().visionConfig().imageSize())
                : toModelSize(model, image);
        return sphericalDistanceLoss(model.getImageFeatures(clipNormalize(x)), textFeatures);
    }

    /** {@code images} [B, C, H, W] resized (bilinear) to the model's input side, or as they are when they fit. */
    private static NDArray toModelSize(ClipModel model, NDArray images) {
        int size = model.getConfig().visionConfig().imageSize();
        Shape s = images.getShape();
        return s.get(2) == size && s.get(3) == size ? images
                : ClipAugment.apply(images, ClipAugment.Params.identity((int) s.get(2), (int) s.get(3)), size);
    }

    /** The augmentation (null when off). */
    ClipAugment augment() {
        return augment;
    }

    /** Number of cuts per call. */
    public int getCuts() {
        return nCuts;
    }

    /** Re-seeds the augmentations. */
    public void reseed(long seed) {
        rng.setSeed(seed);
    }

    /**
     * The course's {@code Normalize(mean, std)} applied directly to {@code image} [B, 3, H, W] (in [-1, 1] in the course):
     * {@code (image - mean) / std} per channel.
     */
    public static NDArray clipNormalize(NDArray image) {
        NDManager m = image.getManager();
        NDArray mean = m.create(MEAN, new Shape(1, 3, 1, 1)).toDevice(image.getDevice(), false);
        NDArray std = m.create(STD, new Shape(1, 3, 1, 1)).toDevice(image.getDevice(), false);
        return image.sub(mean).div(std);
    }

    /**
     * Squared great-circle distance between every image and every text embedding, [B, T]:
     * {@code 2 * arcsin(||u - v|| / 2)^2} with u, v the L2-normalised embeddings.
     *
     * @param imageEmbeds [B, P] (need not be normalised)
     * @param textEmbeds [P] or [T, P] (need not be normalised)
     */
    public static NDArray sphericalDistance(NDArray imageEmbeds, NDArray textEmbeds) {
        NDArray t = textEmbeds.getShape().dimension() == 1 ? textEmbeds.reshape(1, -1) : textEmbeds;
        NDArray u = ClipModel.normalize(imageEmbeds).expandDims(1);                      // [B, 1, P]
        NDArray v = ClipModel.normalize(t).expandDims(0);                                // [1, T, P]
        return Scalars.mul(Scalars.div(u.sub(v).norm(new int[] {2}), 2).asin().square(), 2); // 2 * arcsin(|u - v| / 2)^2
    }

    /** The course's {@code clip_loss} on embeddings: the mean of {@link #sphericalDistance} (a scalar). */
    public static NDArray sphericalDistanceLoss(NDArray imageEmbeds, NDArray textEmbeds) {
        return sphericalDistance(imageEmbeds, textEmbeds).mean();
    }

    /**
     * How well each image matches the text: the cosine similarity of CLIP's embeddings of {@code images} ([B, 3, H, W]
     * in [-1, 1], resized to the model's input side when they are not that size; no augmentation) and of
     * {@code textFeatures} ([1, P]), one value per image, [B].
     */
    public static NDArray similarity(ClipModel model, NDArray images, NDArray textFeatures) {
        NDArray u = ClipModel.normalize(model.getImageFeatures(clipNormalize(toModelSize(model, images))));
        NDArray v = ClipModel.normalize(textFeatures.reshape(1, -1));
        return u.matMul(v.transpose()).reshape(-1);
    }

    /**
     * CLIP's zero-shot classification: for each of {@code images} ([B, 3, H, W] in [-1, 1], resized to the model's
     * input side when they are not that size), the index of the most similar of {@code prompts} (cosine similarity
     * of the embeddings). With prompts such as "an emoji of flags" it names the category an image looks like.
     */
    public static long[] bestMatch(ClipModel model, ClipTokenizer tokenizer, NDArray images, List<String> prompts) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("bestMatch: no prompts to choose from");
        }
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope();
                NDManager m = images.getManager().newSubManager()) {
            ClipTokenizer.Batch t = tokenizer.encodeBatch(prompts, ClipTokenizer.Padding.EOS, m);
            NDArray text = ClipModel.normalize(model.getTextFeatures(t.inputIds(), t.attentionMask()));
            NDArray image = ClipModel.normalize(model.getImageFeatures(clipNormalize(toModelSize(model, images))));
            return image.matMul(text.transpose()).argMax(1).toLongArray();
        }
    }

    /**
     * Text features of one prompt, the loss's target: {@code get_text_features} of the Hugging Face encoding
     * (equal to OpenAI's {@code encode_text} of its zero-padded ids), shape [1, P], on {@code manager}.
     */
    public static NDArray textFeatures(ClipModel model, ClipTokenizer tokenizer, String prompt, NDManager manager) {
        ClipTokenizer.Batch batch = tokenizer.encodeBatch(List.of(prompt), ClipTokenizer.Padding.EOS, manager);
        return model.getTextFeatures(batch.inputIds(), batch.attentionMask());
    }

    @Override
    public String toString() {
        return "ClipLoss(nCuts " + nCuts + ", " + (augment == null ? "no augmentation" : augment.toString()) + ")";
    }
}
