package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.clip.ClipLoss;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.data.KitHome;
import diffusionkit.io.CheckpointException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * CLIP guidance, the course's {@code clip_loss} towards a text prompt as a {@link GuidanceLoss}: the squared
 * great-circle distance between CLIP's embedding of the (augmented, normalised) predicted image and the prompt's
 * text embedding, averaged over {@code nCuts} random cuts ({@link ClipLoss}). The course samples it with
 * variant 1, {@code guidance_scale} 8, 4 cuts and the √ᾱ schedule factor:
 *
 * <pre>{@code
 * try (ClipGuidance clip = ClipGuidance.builder().setPrompt("Red Rose (still life), red flower painting")
 *         .optCuts(4).build(manager)) {
 *     GuidedSampler s = GuidedSampler.builder().setPipeline(pipe).setLoss(clip).optGuidanceScale(8)
 *             .optScheduleFactor(ScheduleFactor.SQRT_ALPHA_BAR).optPrint(System.out, 25).build();
 *     GuidedOutput out = s.sample(4, 50, 42);
 * }
 * }</pre>
 *
 * The CLIP folder is {@value #DEFAULT_FOLDER} of the kit's checkout unless given (the kit's emoji CLIP, trained by
 * {@code ./kit train-clip}), or any folder with the files of a transformers {@code CLIPModel} such as
 * {@code openai/clip-vit-base-patch32}: {@code config.json}, {@code model.safetensors} (or {@code pytorch_model.bin}),
 * {@code vocab.json} and {@code merges.txt} (or {@code tokenizer.json}).
 */
public final class ClipGuidance implements GuidanceLoss, AutoCloseable {

    /** Where the CLIP model is looked for by default, relative to the kit's checkout. */
    public static final String DEFAULT_FOLDER = "datasets/models/emoji-clip";

    private final ClipModel model;
    private final boolean ownsModel;
    private final ClipLoss clipLoss;
    private final NDArray textFeatures;
    private final String prompt;

    private ClipGuidance(ClipModel model, boolean ownsModel, ClipLoss clipLoss, NDArray textFeatures, String prompt) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.clipLoss = clipLoss;
        this.textFeatures = textFeatures;
        this.prompt = prompt;
    }

    /** A builder: {@code setPrompt} is required; the model comes from {@link Builder#optFolder} or {@link Builder#optModel}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The default CLIP folder: {@value #DEFAULT_FOLDER} under the kit's checkout ({@link KitHome}), or under the
     * working folder outside a checkout.
     */
    public static Path defaultFolder() {
        Path home = KitHome.find();
        return (home == null ? Path.of("") : home).resolve(DEFAULT_FOLDER).toAbsolutePath();
    }

    /**
     * Checks a CLIP folder for guidance (model + tokenizer) before anything heavy is loaded.
     *
     * @throws CheckpointException naming the folder, every missing file and where to put what
     */
    public static void checkFolder(Path folder) throws CheckpointException {
        try {
            ClipModel.checkFolder(folder, true);
        } catch (CheckpointException e) {
            throw new CheckpointException("CLIP guidance needs a CLIP model: " + e.getMessage() + " The files are those of "
                    + "the Hugging Face repository " + ClipModel.HUB_MODEL + " (config.json, " + ClipModel.SAFETENSORS_FILE
                    + " or " + ClipModel.PYTORCH_FILE + ", vocab.json and merges.txt or tokenizer.json); put them directly in "
                    + folder.toAbsolutePath() + " (or pass another folder).", e);
        }
    }

    /** The loss of x̂_0 (in [-1, 1], [B, 3, H, W]) against the prompt; a scalar. */
    @Override
    public NDArray loss(NDArray predOriginalSample) {
        NDArray t = textFeatures.getDevice().equals(predOriginalSample.getDevice()) ? textFeatures
                : textFeatures.toDevice(predOriginalSample.getDevice(), false);
        return clipLoss.compute(predOriginalSample, t);
    }

    /** The prompt's text features [1, projection_dim]. */
    public NDArray textFeatures() {
        return textFeatures;
    }

    /** The prompt. */
    public String prompt() {
        return prompt;
    }

    /** The CLIP model. */
    public ClipModel model() {
        return model;
    }

    /** The CLIP loss (cuts, augmentation). */
    public ClipLoss clipLoss() {
        return clipLoss;
    }

    /** Frees the text features and, when this object loaded it, the CLIP model. */
    @Override
    public void close() {
        textFeatures.close();
        if (ownsModel) {
            model.close();
        }
    }

    @Override
    public String toString() {
        return "ClipGuidance('" + prompt + "', " + clipLoss + ")";
    }

    /** Builder of {@link ClipGuidance}. */
    public static final class Builder {
        private Path folder;
        private ClipModel model;
        private ClipTokenizer tokenizer;
        private String prompt;
        private int nCuts = 4;
        private boolean augment = true;
        private long seed;

        private Builder() {}

        /** The text the images should match (required). */
        public Builder setPrompt(String prompt) {
            this.prompt = prompt;
            return this;
        }

        /** The CLIP folder (default {@link #defaultFolder()}); model and tokenizer are loaded from it. */
        public Builder optFolder(Path folder) {
            this.folder = folder;
            return this;
        }

        /** An already loaded model and tokenizer (not closed by {@link ClipGuidance#close()}). */
        public Builder optModel(ClipModel model, ClipTokenizer tokenizer) {
            this.model = model;
            this.tokenizer = tokenizer;
            return this;
        }

        /** Number of augmented cuts per loss ({@code n_cuts}, default 4 as in the course). */
        public Builder optCuts(int nCuts) {
            this.nCuts = nCuts;
            return this;
        }

        /** The course's random crop / rotation / flip before CLIP (default true). */
        public Builder optAugment(boolean augment) {
            this.augment = augment;
            return this;
        }

        /** Seed of the augmentations (default 0). */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Loads what is needed (model and tokenizer unless given) onto {@code manager}'s device and encodes the prompt.
         *
         * @throws CheckpointException when the CLIP folder lacks files or holds mis-shaped tensors, naming them
         */
        public ClipGuidance build(NDManager manager) throws IOException {
            if (prompt == null || prompt.isBlank()) {
                throw new IllegalStateException("ClipGuidance needs a prompt: call setPrompt(\"a red rose\")");
            }
            boolean owns = model == null;
            ClipModel m = model;
            ClipTokenizer tok = tokenizer;
            if (owns) {
                Path f = folder != null ? folder : defaultFolder();
                checkFolder(f);
                tok = ClipTokenizer.fromPretrained(f);
                m = ClipModel.fromPretrained(f, manager);
            } else if (tok == null) {
                throw new IllegalStateException("ClipGuidance: optModel needs the tokenizer too (ClipTokenizer.fromPretrained(folder))");
            }
            try {
                ClipLoss loss = ClipLoss.builder().setModel(m).optCuts(nCuts).optAugment(augment).optSeed(seed).build();
                NDArray text;
                try (NDManager scratch = manager.newSubManager()) {
                    text = ClipLoss.textFeatures(m, tok, prompt, scratch);
                    text.attach(manager);
                }
                return new ClipGuidance(m, owns, loss, text, prompt);
            } catch (RuntimeException e) {
                if (owns) {
                    m.close();
                }
                throw e;
            }
        }
    }
}
