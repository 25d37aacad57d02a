package diffusionkit.conditional;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.util.Scalars;
import diffusionkit.util.SeededNoise;

/**
 * Sampling from a {@link ClassConditionedUNet}, as the course's notebook does, with classifier-free guidance as an
 * option.
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
 * with the kit's fast option {@code sample(model, ddim(scheduler), courseLabels(), 50, seed, 1.0, manager)}.
 *
 * <p><b>Classifier-free guidance</b> (Ho and Salimans 2022), for a model with a null class: at each step
 * {@code eps = eps_uncond + w (eps_cond - eps_uncond)}, both passes in one batch of 2N. {@code w = 1} is the plain
 * conditional model (one pass of N), {@code w = 0} the unconditional one, {@code w > 1} sharper classes.
 *
 * <p><b>Guidance with DDIM and {@code clip_sample}.</b> The course's scheduler clips the predicted x0 to [-1, 1], and
 * diffusers' DDIM step then moves along the unclipped eps. With guidance the two disagree, and the samples drift
 * away from the requested class: with the shipped mnist-conditional, w = 3 gave 6 of 80 samples of the requested
 * digit (below chance), the damage done at high noise (guidance only at t > 500: 0 of 30; only at t <= 500: 28 of
 * 30). With guidance this class steps DDIM with {@code use_clipped_model_output=True} (eps recomputed from the
 * clipped x0, as GLIDE does; an argument of diffusers' {@code DDIMScheduler.step}): 80 of 80 at w = 3. Without
 * guidance ({@code w = 1}) it steps as diffusers' default, as the course does. DDPM needs no such care: its step
 * uses only the clipped x0 and x_t.
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
     * The guided noise prediction {@code eps_uncond + w (eps_cond - eps_uncond)} (inference), both passes batched.
     *
     * @param model a model with a null class
     * @param x [N, 1, H, W]
     * @param t the timestep
     * @param labels [N] class labels
     * @param w the guidance scale
     * @return [N, 1, H, W] on x's manager
     * @throws IllegalStateException when the model has no null class
     */
    public static NDArray guidedNoise(ClassConditionedUNet model, NDArray x, long t, NDArray labels, double w) {
        long nullLabel = model.nullLabel();
        long n = x.getShape().get(0);
        NDManager caller = x.getManager();
        try (NDManager sub = caller.newSubManager()) {
            long[] nl = new long[(int) n];
            java.util.Arrays.fill(nl, nullLabel);
            NDArray nulls = sub.create(nl);
            NDArray xx = NDArrays.concat(new NDList(x, x), 0);
            xx.attach(sub);
            NDArray ll = NDArrays.concat(new NDList(labels.toType(nulls.getDataType(), false), nulls), 0);
            ll.attach(sub);
            NDArray both = model.forward(xx, t, ll);
            both.attach(sub);
            NDArray cond = both.get(new NDIndex("0:{}", n));
            NDArray uncond = both.get(new NDIndex("{}:", n));
            NDArray eps = uncond.add(Scalars.mul(cond.sub(uncond), w)); // eps_u + w (eps_c - eps_u)
            eps.attach(caller);
            return eps;
        }
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
     * @param manager where the result lives
     * @return [N, 1, 28, 28], clipped to [-1, 1] as the course shows them
     */
    public static NDArray sample(ClassConditionedUNet model, Scheduler scheduler, long[] labels, int numInferenceSteps,
            long seed, double guidanceScale, NDManager manager) {
        // no autograd graph on any thread (PyTorch's grad mode is per thread and on in new ones)
        return diffusionkit.util.Autograd.noGrad(
                () -> sampleNoGrad(model, scheduler, labels, numInferenceSteps, seed, guidanceScale, manager));
    }

    private static NDArray sampleNoGrad(ClassConditionedUNet model, Scheduler scheduler, long[] labels,
            int numInferenceSteps, long seed, double guidanceScale, NDManager manager) {
        int h = 28;
        SeededNoise gen = new SeededNoise(seed);
        scheduler.setTimesteps(numInferenceSteps);
        NDArray x = gen.randn(manager, new Shape(labels.length, 1, h, h)); // torch.randn(80, 1, 28, 28)
        try (NDArray y = manager.create(labels)) {
            for (long t : scheduler.timesteps()) {
                try (NDManager step = manager.newSubManager()) {
                    x.attach(step);
                    NDArray eps = guidanceScale == 1.0 ? model.forward(x, t, y) : guidedNoise(model, x, t, y, guidanceScale);
                    NDArray next = (guidanceScale != 1.0 && scheduler instanceof DDIMScheduler d)
                            ? d.step(eps, t, x, 0f, true, gen, null).prevSample() // eps from the clipped x0 (above)
                            : scheduler.step(eps, t, x, gen).prevSample();
                    next.attach(manager);
                    x = next;
                }
            }
        }
        NDArray out = x.clip(-1f, 1f);
        x.close();
        return out;
    }
}
