package diffusionkit.conditional;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.models.NoisePredictor;
import diffusionkit.pipelines.ClassifierFreeGuidance;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.NoiseGuide;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.pipelines.Sampling;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.Scheduler;

/**
 * Sampling from a class-conditioned model, as the course's notebook does, with classifier-free guidance as an
 * option: a preset of {@link DiffusionPipeline}'s one loop with {@link NoiseGuide#classifierFree(double)}.
 *
 * <p>The course:
 * <pre>
 * x = torch.randn(80, 1, 28, 28)
 * y = torch.tensor([[i] * 8 for i in range(10)]).flatten()
 * for i, t in enumerate(noise_scheduler.timesteps):       # DDPM, all 1000 steps
 *     residual = net(x, t, y)
 *     x = noise_scheduler.step(residual, t, x).prev_sample
 * show(x.clip(-1, 1), nrow=8)
 * </pre>
 * In Java: {@code sample(model, ClassConditionedUNet.courseScheduler(), courseLabels(), 1000, seed, 1.0, manager)}, or
 * with the kit's fast option {@code sample(model, ddim(scheduler), courseLabels(), 50, seed, 1.0, manager)}. For
 * guidance with DDIM see {@link ClassifierFreeGuidance} (the step recomputes ε̂ from the clipped x̂_0).
 */
public final class ConditionalSampler {

    private ConditionalSampler() {
    }

    /** The course's labels: 8 of each digit, {@code [0]*8 + [1]*8 + ... + [9]*8} (80). */
    public static long[] courseLabels() {
        return repeatedLabels(10, 8);
    }

    /** {@code perClass} of each class 0..numClasses-1, class-major (rows of a grid with {@code nrow = perClass}). */
    public static long[] repeatedLabels(int numClasses, int perClass) {
        long[] y = new long[numClasses * perClass];
        for (int i = 0; i < y.length; i++) {
            y[i] = i / perClass;
        }
        return y;
    }

    /** A DDIM scheduler with the training schedule's config (diffusers' {@code DDIMScheduler.from_config}). */
    public static DDIMScheduler ddim(Scheduler trainScheduler) {
        return new DDIMScheduler(trainScheduler.config());
    }

    /**
     * Draws samples.
     *
     * @param model the model
     * @param scheduler DDPM (the course, 1000 steps) or DDIM (e.g. {@link #ddim} with 50 steps); its timesteps are set
     * @param labels one class per sample
     * @param numInferenceSteps steps
     * @param seed seed of the initial noise (and of DDPM's per-step noise)
     * @param guidanceScale 1: no guidance (one conditional pass); otherwise classifier-free guidance with this w
     * @param manager the samples live in a sub-manager of it
     * @return [N, C, H, W], clipped to [-1, 1] as the course shows them
     */
    public static NDArray sample(NoisePredictor model, Scheduler scheduler, long[] labels, int numInferenceSteps,
            long seed, double guidanceScale, NDManager manager) {
        PipelineOutput out = new DiffusionPipeline(model, scheduler).generate(Sampling.builder().optLabels(labels)
                .optSteps(numInferenceSteps).optSeed(seed).optGuide(NoiseGuide.classifierFree(guidanceScale))
                .optManager(manager).build());
        return out.images(); // its manager is a sub-manager of the caller's (the pipeline is a view: not closed)
    }
}
