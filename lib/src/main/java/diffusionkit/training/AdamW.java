package diffusionkit.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW as PyTorch's {@code torch.optim.AdamW} computes it (Loshchilov and Hutter, "Decoupled Weight Decay
 * Regularization", Algorithm 2), with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
 * With weight decay 0 it is {@code torch.optim.Adam}. Per parameter p with gradient g, at step t:
 * <pre>
 *   p ← p · (1 − lr·λ)                      // decoupled weight decay
 *   m ← β1·m + (1 − β1)·g                   // first moment
 *   v ← β2·v + (1 − β2)·g²                  // second moment
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * </pre>
 * The moments and the step count are its state, saved with checkpoints ({@link #state()},
 * {@link #loadState(Map)}) so that a resumed run continues exactly. Updates run outside any gradient
 * collector, in place on the parameter arrays.
 */
public final class AdamW {

    private double learningRate;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private long step;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final NDManager manager;
    private NDArray stepArray;

    private AdamW(Builder b) {
        this.learningRate = b.learningRate;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
        this.manager = NDManager.newBaseManager(b.device);
    }

    /** A builder with PyTorch's AdamW defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01). */
    public static Builder builder() {
        return new Builder();
    }

    /** The learning rate of the next step. */
    public double learningRate() {
        return learningRate;
    }

    /** Sets the learning rate (schedulers such as {@link ExponentialLR} call this). */
    public void setLearningRate(double lr) {
        this.learningRate = lr;
    }

    /** Steps taken so far. */
    public long stepCount() {
        return step;
    }

    /** The weight decay λ. */
    public double weightDecay() {
        return weightDecay;
    }

    /**
     * One update of every parameter that has a gradient, by its gradient. Parameters without a gradient are left
     * alone (as PyTorch skips {@code p.grad is None}).
     */
    public void step(Map<String, NDArray> parameters) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        double stepSize = learningRate / bc1;
        double sqrtBc2 = Math.sqrt(bc2);
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray p = e.getValue();
            if (!p.hasGradient()) {
                continue;
            }
            NDArray m = expAvg.computeIfAbsent(e.getKey(), k -> zerosLike(p));
            NDArray v = expAvgSq.computeIfAbsent(e.getKey(), k -> zerosLike(p));
            // every temporary goes into this scope (results of ops on m and v would otherwise land in the
            // optimiser's own manager and pile up, two parameter-sized arrays per parameter per step)
            try (NDManager scope = p.getManager().newSubManager()) {
                NDArray g = scoped(p.getGradient(), scope);
                if (weightDecay != 0) {
                    p.muli(1 - learningRate * weightDecay);
                }
                m.muli(beta1).addi(scoped(g.mul(1 - beta1), scope));
                v.muli(beta2).addi(scoped(g.square(), scope).muli(1 - beta2));
                NDArray denom = scoped(v.sqrt(), scope).divi(sqrtBc2).addi(eps);
                p.subi(scoped(m.div(denom), scope).muli(stepSize));
            }
        }
    }

    private static NDArray scoped(NDArray a, NDManager scope) {
        a.attach(scope);
        return a;
    }

    /**
     * Sets every gradient to zero (PyTorch's {@code zero_grad(set_to_none=False)}): a real {@code zero_()}, so that a
     * NaN or infinity that once reached a gradient does not stay there (multiplying by 0 would keep it).
     */
    public static void zeroGradients(Map<String, NDArray> parameters) {
        for (NDArray p : parameters.values()) {
            if (!p.hasGradient()) {
                continue;
            }
            if (p instanceof PtNDArray pt) {
                JniUtils.zeroGrad(pt);
            } else {
                try (NDArray g = p.getGradient()) {
                    g.muli(0); // another engine: the best DJL's API offers
                }
            }
        }
    }

    /**
     * Scales all gradients so that their global L2 norm is at most {@code maxNorm}, as
     * {@code torch.nn.utils.clip_grad_norm_}: {@code coef = min(1, maxNorm / (norm + 1e-6))}.
     *
     * @return the norm before clipping
     */
    public static double clipGradNorm(Map<String, NDArray> parameters, double maxNorm) {
        double sumSq = 0;
        for (NDArray p : parameters.values()) {
            if (p.hasGradient()) {
                try (NDArray g = p.getGradient(); NDArray sq = g.square(); NDArray s = sq.sum()) {
                    sumSq += s.getFloat();
                }
            }
        }
        double norm = Math.sqrt(sumSq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (NDArray p : parameters.values()) {
                if (p.hasGradient()) {
                    try (NDArray g = p.getGradient()) {
                        g.muli(coef);
                    }
                }
            }
        }
        return norm;
    }

    /**
     * The optimiser's state for a checkpoint: {@code exp_avg.<name>}, {@code exp_avg_sq.<name>} and {@code step}
     * (a one-element int64 array). The arrays are the live ones: write them out before the next step.
     */
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> s.put("exp_avg." + k, v));
        expAvgSq.forEach((k, v) -> s.put("exp_avg_sq." + k, v));
        if (stepArray != null) {
            stepArray.close(); // only the latest state's step array is kept
        }
        stepArray = manager.create(new long[] {step});
        s.put("step", stepArray);
        return s;
    }

    /** The manager of the optimiser's state (for tests). */
    NDManager manager() {
        return manager;
    }

    /** Restores a state written by {@link #state()}. */
    public void loadState(Map<String, NDArray> s) {
        NDArray st = s.get("step");
        if (st == null) {
            throw new IllegalArgumentException("optimizer state has no 'step' entry: is it an AdamW state file?");
        }
        step = st.toLongArray()[0];
        expAvg.clear();
        expAvgSq.clear();
        for (Map.Entry<String, NDArray> e : s.entrySet()) {
            if (e.getKey().startsWith("exp_avg_sq.")) {
                expAvgSq.put(e.getKey().substring("exp_avg_sq.".length()), copy(e.getValue()));
            } else if (e.getKey().startsWith("exp_avg.")) {
                expAvg.put(e.getKey().substring("exp_avg.".length()), copy(e.getValue()));
            }
        }
    }

    private NDArray zerosLike(NDArray p) {
        return manager.zeros(p.getShape(), p.getDataType(), p.getDevice());
    }

    private NDArray copy(NDArray a) {
        NDArray c = manager.create(a.getShape(), a.getDataType());
        diffusionkit.util.Tensors.copyInto(a, c);
        return c;
    }

    /** Builder of {@link AdamW}. */
    public static final class Builder {
        private double learningRate = 1e-3;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay = 0.01;
        private ai.djl.Device device = diffusionkit.util.DeviceChoice.device();

        public Builder optLearningRate(double lr) {
            this.learningRate = lr;
            return this;
        }

        public Builder optBetas(double b1, double b2) {
            this.beta1 = b1;
            this.beta2 = b2;
            return this;
        }

        public Builder optEps(double e) {
            this.eps = e;
            return this;
        }

        /** Decoupled weight decay λ; 0 gives plain Adam. */
        public Builder optWeightDecay(double wd) {
            this.weightDecay = wd;
            return this;
        }

        /** Device of the optimiser's state (the parameters' device). */
        public Builder optDevice(ai.djl.Device d) {
            this.device = d;
            return this;
        }

        public AdamW build() {
            if (learningRate < 0 || eps <= 0 || beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || weightDecay < 0) {
                throw new IllegalArgumentException("AdamW needs lr >= 0, 0 <= betas < 1, eps > 0, weight decay >= 0");
            }
            return new AdamW(this);
        }
    }
}
