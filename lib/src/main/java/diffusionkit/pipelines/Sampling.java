package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.schedulers.Scheduler;

/**
 * The arguments of one run of {@link DiffusionPipeline#generate(Sampling)}, diffusers' pipeline {@code __call__}
 * arguments: how many images (or which starting noise), how many steps, which scheduler, the seed, class labels, the
 * per-step {@link NoiseGuide} and {@link StepCallback}.
 *
 * <pre>
 *   pipe.generate(Sampling.builder().optBatchSize(8).optSteps(40).optScheduler(pipe.ddimScheduler()).optSeed(0).build())
 * </pre>
 */
public final class Sampling {

    final Builder settings; // a copy made by build()

    private Sampling(Builder settings) {
        this.settings = settings;
    }

    /** A builder; every setting has a default (the pipeline's scheduler, 1000 steps, one image, seed 0, no guide). */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder of {@link Sampling}. */
    public static final class Builder implements Cloneable {
        Scheduler scheduler;
        int steps = 1000;
        float eta;
        long seed;
        int batchSize = 1;
        NDArray noise;
        Shape imageShape;
        long[] labels;
        NoiseGuide guide = NoiseGuide.NONE;
        StepCallback callback;
        NDManager manager;

        private Builder() {}

        /** The scheduler to step with (default: the pipeline's); its {@code setTimesteps} is called by the run. */
        public Builder optScheduler(Scheduler s) {
            this.scheduler = s;
            return this;
        }

        /** {@code num_inference_steps} (default 1000, the full chain). */
        public Builder optSteps(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("the number of inference steps must be >= 1, got " + n);
            }
            this.steps = n;
            return this;
        }

        /** DDIM's η (default 0: deterministic); ignored by other schedulers. */
        public Builder optEta(float eta) {
            if (!(eta >= 0)) {
                throw new IllegalArgumentException("eta must be >= 0 (0: DDIM, 1: DDPM-like), got " + eta);
            }
            this.eta = eta;
            return this;
        }

        /** The seed of the starting noise and of the scheduler's per-step noise (default 0). */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** How many images to draw from seeded noise (default 1; with class labels: one per label). */
        public Builder optBatchSize(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + n);
            }
            this.batchSize = n;
            return this;
        }

        /** Start from this x_T [B, C, H, W] instead of seeded noise (copied, not modified). */
        public Builder optNoise(NDArray noise) {
            this.noise = noise;
            return this;
        }

        /** The shape [C, H, W] of one image, when the model does not say it ({@code NoisePredictor.sampleShape()}). */
        public Builder optImageShape(int channels, int height, int width) {
            this.imageShape = new Shape(channels, height, width);
            return this;
        }

        /** One class label per image, for a class-conditioned model (the batch size follows). */
        public Builder optLabels(long... labels) {
            this.labels = labels == null ? null : labels.clone();
            return this;
        }

        /** One class label per image ([N] integers; null: none), for a class-conditioned model. */
        public Builder optLabels(NDArray labels) {
            return optLabels(labels == null ? null : labels.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray());
        }

        /** The per-step hook (default {@link NoiseGuide#NONE}). */
        public Builder optGuide(NoiseGuide guide) {
            this.guide = guide == null ? NoiseGuide.NONE : guide;
            return this;
        }

        /** Called after each step with x_{t−1} and x̂_0. */
        public Builder optCallback(StepCallback callback) {
            this.callback = callback;
            return this;
        }

        /** The samples live in a sub-manager of this one (default: of the model's manager). */
        public Builder optManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /** The arguments. */
        public Sampling build() {
            try {
                Builder copy = (Builder) clone();
                copy.batchSize = labels != null && noise == null ? labels.length : batchSize;
                return new Sampling(copy);
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
