package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import diffusionkit.models.NoisePredictor;
import diffusionkit.util.Scalars;

import java.util.Arrays;

/**
 * Classifier-free guidance (Ho and Salimans 2022) for a model with a null class: at each step
 * {@code ε̂ = ε̂_uncond + w (ε̂_cond − ε̂_uncond)}, both passes in one batch of 2N. {@code w = 1} is the conditional
 * model, {@code w = 0} the unconditional one, {@code w > 1} sharper classes.
 *
 * <p><b>With DDIM and {@code clip_sample}.</b> A scheduler that clips x̂_0 to [-1, 1] and then steps along the
 * unclipped ε̂ (diffusers' DDIM default) lets guided samples drift from the requested class: with the shipped
 * mnist-conditional, w = 3 gave 6 of 80 samples of the requested digit (below chance), the damage done at high noise
 * (guidance only at t > 500: 0 of 30; only at t <= 500: 28 of 30). So this guide asks for
 * {@code use_clipped_model_output=True} (ε̂ recomputed from the clipped x̂_0, as GLIDE does): 80 of 80 at w = 3. DDPM
 * needs no such care: its step uses only the clipped x̂_0 and x_t.
 */
public final class ClassifierFreeGuidance implements NoiseGuide {

    private final double scale;

    /** Guidance with scale {@code w} (any finite value; 1 is the conditional model). */
    public ClassifierFreeGuidance(double w) {
        if (!Double.isFinite(w)) {
            throw new IllegalArgumentException("classifier-free guidance scale must be a finite number, got " + w);
        }
        this.scale = w;
    }

    @Override
    public Prediction predict(DenoisingStep step, NDArray x) {
        if (step.labels() == null) {
            throw new IllegalArgumentException("classifier-free guidance needs class labels: pass optLabels(...)");
        }
        NDArray input = step.scheduler().scaleModelInput(x, step.timestep());
        return new Prediction(guidedNoise(step.model(), input, step.timestep(), step.labels(), scale), x);
    }

    @Override
    public boolean useClippedModelOutput() {
        return true;
    }

    /**
     * {@code ε̂_uncond + w (ε̂_cond − ε̂_uncond)} of {@code model} for {@code x} [N, C, H, W] at timestep {@code t}
     * with {@code labels} [N], both passes batched, on x's manager.
     *
     * @throws IllegalStateException when the model has no null class
     */
    public static NDArray guidedNoise(NoisePredictor model, NDArray x, long t, NDArray labels, double w) {
        long nullLabel = model.nullLabel();
        int n = (int) x.getShape().get(0);
        NDManager caller = x.getManager();
        try (NDManager sub = caller.newSubManager()) {
            long[] nl = new long[n];
            Arrays.fill(nl, nullLabel);
            NDArray nulls = sub.create(nl);
            NDArray xx = NDArrays.concat(new NDList(x, x), 0);
            xx.attach(sub);
            NDArray ll = NDArrays.concat(new NDList(labels.toType(nulls.getDataType(), false), nulls), 0);
            ll.attach(sub);
            NDArray both = model.forward(xx, t, ll);
            both.attach(sub);
            NDArray cond = both.get(new NDIndex("0:{}", n));
            NDArray uncond = both.get(new NDIndex("{}:", n));
            NDArray eps = uncond.add(Scalars.mul(cond.sub(uncond), w)); // ε_u + w (ε_c − ε_u)
            eps.attach(caller);
            return eps;
        }
    }
}
