package diffusionkit.guidance;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import diffusionkit.models.NoisePredictor;
import diffusionkit.pipelines.DenoisingStep;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.NoiseGuide;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.pipelines.Sampling;
import diffusionkit.pipelines.StepCallback;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.util.NonFiniteException;
import diffusionkit.util.Scalars;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Guided DDIM sampling (η = 0), the loop of the course's Unit 2 "Guidance" section: at each step the sample is
 * pushed against the gradient of a {@link GuidanceLoss} on the predicted clean image, then stepped as usual. The loop
 * is {@link DiffusionPipeline#generate(Sampling)}'s; this class is its {@link NoiseGuide} (the gradient step below)
 * and the course's settings around it.
 *
 * <pre>
 * for i, t in enumerate(scheduler.timesteps):
 *     ε̂ = unet(x, t)                                  # variant 1: no graph; variant 2: with x.requires_grad_()
 *     x = x.detach().requires_grad_()
 *     x̂_0 = scheduler.step(ε̂, t, x).pred_original_sample
 *     loss = guidance_loss(x̂_0) * guidance_scale
 *     cond_grad = -torch.autograd.grad(loss, x)[0]     # optionally clipped
 *     x = x.detach() + cond_grad * factor(ᾱ)           # factor: 1 (colour), √ᾱ (CLIP)
 *     x = scheduler.step(ε̂, t, x).prev_sample
 * </pre>
 *
 * <p><b>Where the kit differs from the course.</b> The course's CLIP loop multiplies by
 * {@code scheduler.alphas_cumprod[i].sqrt()} with {@code i} the loop counter (0, 1, 2, ...), not the timestep:
 * ᾱ of the first few <em>training</em> steps, which is close to 1 at every sampling step. The kit evaluates the
 * {@link ScheduleFactor} at ᾱ_t of the current timestep t; {@link Builder#optCourseIndexing(boolean)} reproduces
 * the course's indexing. Gradient clipping (not in the course) applies to {@code cond_grad} before the factor.
 *
 * <p>Gradients come from one {@link GradientCollector} at a time, around a fresh leaf copy of x each step (DJL, like
 * PyTorch, accumulates gradients into a leaf; a fresh leaf starts from zero). In {@link GuidanceVariant#X0_ONLY} the
 * UNet runs outside the collector, so it builds no graph; in {@link GuidanceVariant#THROUGH_UNET} it runs inside,
 * with the UNet's own parameters temporarily not requiring gradients (only d/dx is wanted). Each step's arrays live
 * in a sub-manager freed at the end of the step.
 */
public final class GuidedSampler {

    private final Builder s; // the settings, a copy made by build()
    private final DiffusionPipeline pipeline;

    private GuidedSampler(Builder settings) {
        this.s = settings;
        this.pipeline = new DiffusionPipeline(s.model, s.scheduler); // a view: never closed here (it would free the model)
    }

    /** A builder: {@code setModel} + {@code setScheduler} (or {@code setPipeline}) and {@code setLoss} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** The gradient of one guided step, and what came with it. */
    public record GuidanceGradient(NDArray gradient, NDArray noisePred, NDArray predOriginalSample, double loss) {}

    /**
     * d(guidanceScale · loss(x̂_0(x)))/dx at timestep {@code t}, by this sampler's variant, with the noise prediction
     * used. The arrays live in {@code x}'s manager; {@code x} itself is not modified and does not take a gradient.
     * {@link DDIMScheduler#setTimesteps} must have been called. With guidance scale 0 the gradient is zeros (the
     * loss is still evaluated).
     */
    public GuidanceGradient gradient(NDArray x, long t) {
        return gradient(x, t, null);
    }

    /** {@link #gradient(NDArray, long)} for a class-conditioned model, with one label per sample (null: none). */
    public GuidanceGradient gradient(NDArray x, long t, NDArray labels) {
        NDManager m = x.getManager();
        NDArray tArr = m.create(new long[] {t});
        NDArray leaf = x.duplicate();                         // a fresh leaf: its gradient starts at zero
        if (s.guidanceScale == 0) {
            NDArray eps = s.model.forward(s.scheduler.scaleModelInput(x, t), tArr, labels, false);
            NDArray x0 = s.scheduler.step(eps, t, x).predOriginalSample();
            double l = s.loss.loss(x0).getFloat();
            return new GuidanceGradient(m.zeros(x.getShape(), x.getDataType()), eps, x0, l);
        }
        // X0_ONLY: no graph through the UNet; stopGradient also on threads where autograd is on by default (PyTorch's
        // grad mode is per thread: DJL turns it off only on the thread that started the engine, not on e.g. the web
        // demo's worker thread, where the loss would otherwise back-propagate into the UNet's graph).
        // THROUGH_UNET: the UNet runs inside the collector, its parameters not requiring gradients (only d/dx).
        boolean throughUnet = s.variant == GuidanceVariant.THROUGH_UNET;
        NDArray eps = throughUnet ? null : s.model.forward(s.scheduler.scaleModelInput(x, t), tArr, labels, false).stopGradient();
        Map<String, NDArray> params = throughUnet ? s.model.stateDict() : Map.of();
        Map<String, Boolean> had = new LinkedHashMap<>();
        params.forEach((k, p) -> {
            had.put(k, p.hasGradient());
            p.setRequiresGradient(false);
        });
        try {
            leaf.setRequiresGradient(true);
            NDArray x0;
            double l;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                if (throughUnet) {
                    eps = s.model.forward(s.scheduler.scaleModelInput(leaf, t), tArr, labels, false);
                }
                x0 = s.scheduler.step(eps, t, leaf).predOriginalSample();
                NDArray value = s.loss.loss(x0);
                l = value.getFloat();
                gc.backward(Scalars.mul(value, s.guidanceScale));
            }
            return new GuidanceGradient(leaf.getGradient(), eps.stopGradient(), x0.stopGradient(), l);
        } finally {
            params.forEach((k, p) -> {
                if (had.get(k)) {
                    p.setRequiresGradient(true);
                }
            });
        }
    }

    /** The schedule factor at loop index {@code i} and timestep {@code t} (ᾱ_t, or ᾱ_i with course indexing). */
    public double factorAt(int i, long t) {
        float[] ac = s.scheduler.alphasCumprod();
        return s.factor.apply(ac[(int) (s.courseIndexing ? i : t)]);
    }

    /**
     * Samples {@code batchSize} images from seeded noise (the same noise as
     * {@link DiffusionPipeline#generateDdim} for the same seed).
     */
    public GuidedOutput sample(int batchSize, int numInferenceSteps, long seed) {
        return sample(Sampling.builder().optBatchSize(batchSize).optSeed(seed), numInferenceSteps);
    }

    /** Samples from the given starting noise x_T ([B, C, H, W]; copied, not modified). */
    public GuidedOutput sample(NDArray noise, int numInferenceSteps) {
        return sample(Sampling.builder().optNoise(noise), numInferenceSteps);
    }

    private GuidedOutput sample(Sampling.Builder args, int numInferenceSteps) {
        Guide guide = new Guide();
        PipelineOutput result = pipeline.generate(args.optScheduler(s.scheduler).optSteps(numInferenceSteps)
                .optImageShape((int) s.imageShape.get(0), (int) s.imageShape.get(1), (int) s.imageShape.get(2))
                .optGuide(guide).optCallback(s.callback).build());
        return new GuidedOutput(result.images(), result.grid(), List.copyOf(guide.steps));
    }

    /** One guided step: x moved against the loss gradient, and the noise prediction it was computed with. */
    private final class Guide implements NoiseGuide {
        private final List<GuidanceStep> steps = new ArrayList<>();

        @Override
        public Prediction predict(DenoisingStep step, NDArray x) {
            int i = step.index();
            long t = step.timestep();
            GuidanceGradient g = gradient(x, t, step.labels());
            double f = factorAt(i, t);
            NDArray condGrad = Scalars.mul(clip(g.gradient().neg()), f);     // −d loss/dx · factor
            double norm = condGrad.norm().getFloat();
            if (!Double.isFinite(g.loss())) {
                throw NonFiniteException.guidance("the guidance loss is " + g.loss(), i, t, s.guidanceScale);
            }
            if (!Double.isFinite(norm)) {
                throw NonFiniteException.guidance("the guidance gradient is NaN or infinite (the loss, "
                        + g.loss() + ", was finite)", i, t, s.guidanceScale);
            }
            GuidanceStep info = new GuidanceStep(i, t, g.loss(), g.loss() * s.guidanceScale, norm, f);
            steps.add(info);
            if (s.out != null && s.logEvery > 0 && i % s.logEvery == 0) {
                s.out.println(i + " loss: " + String.format(Locale.ROOT, "%.6g", info.scaledLoss()));
            }
            if (s.listener != null) {
                s.listener.onStep(info);
            }
            return new Prediction(g.noisePred(), x.add(condGrad));              // then the DDIM step, η = 0
        }
    }

    /** Per-sample L2-norm clipping and/or value clamping of the update (options; identity when unset). */
    NDArray clip(NDArray g) {
        NDArray r = g;
        if (s.clipValue > 0) {
            r = r.clip(-s.clipValue, s.clipValue);
        }
        if (s.clipNorm > 0) {
            long b = r.getShape().get(0);
            NDArray norms = r.reshape(b, -1).norm(new int[] {1}, true);                   // [B, 1]
            // min(1, max / (‖g‖ + 1e-6))
            NDArray coef = Scalars.minimum(Scalars.mul(Scalars.pow(norms.add(1e-6), -1), s.clipNorm), 1);
            long[] bs = new long[r.getShape().dimension()];
            java.util.Arrays.fill(bs, 1);
            bs[0] = b;
            r = r.mul(coef.reshape(bs));
        }
        return r;
    }

    /** The DDIM scheduler the sampler steps with. */
    public DDIMScheduler scheduler() {
        return s.scheduler;
    }

    /** The guidance scale. */
    public double guidanceScale() {
        return s.guidanceScale;
    }

    /** The variant. */
    public GuidanceVariant variant() {
        return s.variant;
    }

    /** Builder of {@link GuidedSampler}. */
    public static final class Builder implements Cloneable {
        private NoisePredictor model;
        private DDIMScheduler scheduler;
        private GuidanceLoss loss;
        private GuidanceVariant variant = GuidanceVariant.X0_ONLY;
        private double guidanceScale = 40;
        private ScheduleFactor factor = ScheduleFactor.NONE;
        private boolean courseIndexing;
        private double clipNorm;
        private double clipValue;
        private int logEvery = 10;
        private PrintStream out;
        private GuidanceListener listener;
        private StepCallback callback;
        private Shape imageShape;

        private Builder() {}

        /** The pipeline's UNet, and a DDIM scheduler from its scheduler's config (as {@code DDIMScheduler.from_config}). */
        public Builder setPipeline(DiffusionPipeline pipeline) {
            this.model = pipeline.unet();
            this.scheduler = pipeline.ddimScheduler();
            return this;
        }

        /** The noise model (required unless {@link #setPipeline}). */
        public Builder setModel(NoisePredictor model) {
            this.model = model;
            return this;
        }

        /** The DDIM scheduler (required unless {@link #setPipeline}); the sampler calls its {@code setTimesteps}. */
        public Builder setScheduler(DDIMScheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** The guidance loss on x̂_0 (required), e.g. {@link ColorLoss}, {@link ClipGuidance}, {@link ClassifierGuidance}. */
        public Builder setLoss(GuidanceLoss loss) {
            this.loss = loss;
            return this;
        }

        /** Variant 1 ({@link GuidanceVariant#X0_ONLY}, the default) or 2 ({@link GuidanceVariant#THROUGH_UNET}). */
        public Builder optVariant(GuidanceVariant variant) {
            this.variant = variant;
            return this;
        }

        /** The course's {@code guidance_loss_scale} (default 40); 0 samples unguided (the loss is still logged). */
        public Builder optGuidanceScale(double scale) {
            if (!(scale >= 0) || Double.isInfinite(scale)) {
                throw new IllegalArgumentException("guidance scale must be a finite number >= 0, got " + scale);
            }
            this.guidanceScale = scale;
            return this;
        }

        /** The per-step factor of the update (default {@link ScheduleFactor#NONE}; the course's CLIP loop: √ᾱ). */
        public Builder optScheduleFactor(ScheduleFactor factor) {
            this.factor = factor;
            return this;
        }

        /**
         * Evaluate the schedule factor at {@code alphas_cumprod[i]} with {@code i} the loop counter, as the course's
         * CLIP code does, instead of at ᾱ_t of the current timestep (the default).
         */
        public Builder optCourseIndexing(boolean courseIndexing) {
            this.courseIndexing = courseIndexing;
            return this;
        }

        /** Scales each sample's update so that its L2 norm is at most {@code maxNorm} (0: off, the default). */
        public Builder optClipGradNorm(double maxNorm) {
            if (!(maxNorm >= 0)) {
                throw new IllegalArgumentException("gradient clip norm must be >= 0 (0: off), got " + maxNorm);
            }
            this.clipNorm = maxNorm;
            return this;
        }

        /** Clamps every element of the update to [−value, value] (0: off, the default). */
        public Builder optClipGradValue(double value) {
            if (!(value >= 0)) {
                throw new IllegalArgumentException("gradient clip value must be >= 0 (0: off), got " + value);
            }
            this.clipValue = value;
            return this;
        }

        /** Prints {@code "<i> loss: <scaled loss>"} every {@code every} steps to {@code out}, as the course does (null: silent). */
        public Builder optPrint(PrintStream out, int every) {
            if (every < 1) {
                throw new IllegalArgumentException("print interval must be >= 1 step, got " + every);
            }
            this.out = out;
            this.logEvery = every;
            return this;
        }

        /** Told the loss, gradient norm and factor at every step. */
        public Builder optListener(GuidanceListener listener) {
            this.listener = listener;
            return this;
        }

        /** Called after each step with x_{t−1} and x̂_0 (as the pipelines' callback). */
        public Builder optStepCallback(StepCallback callback) {
            this.callback = callback;
            return this;
        }

        /** The image shape [C, H, W] of one sample; by default the UNet's in_channels × sample_size². */
        public Builder optImageShape(int channels, int height, int width) {
            this.imageShape = new Shape(channels, height, width);
            return this;
        }

        /** Builds the sampler (on a copy of these settings: the builder may be changed and built again). */
        public GuidedSampler build() {
            if (model == null || scheduler == null) {
                throw new IllegalStateException("GuidedSampler needs a model and a DDIM scheduler: call "
                        + "setPipeline(pipeline), or setModel(unet) and setScheduler(new DDIMScheduler(config))");
            }
            if (loss == null) {
                throw new IllegalStateException("GuidedSampler needs a loss: call setLoss(ColorLoss.parse(\"#19e680\")) "
                        + "or another GuidanceLoss");
            }
            Builder copy;
            try {
                copy = (Builder) clone();
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
            copy.imageShape = imageShape != null ? imageShape : model.sampleShape();
            if (copy.imageShape == null) {
                throw new IllegalStateException("GuidedSampler: the model does not say its image size: call "
                        + "optImageShape(channels, height, width)");
            }
            return new GuidedSampler(copy);
        }
    }
}
