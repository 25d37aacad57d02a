package diffusionkit.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An exponential moving average of the weights, as diffusers' {@code EMAModel} (without warm-up):
 * after optimisation step n, with {@code k = max(0, n - 1)},
 * <pre>
 *   decay = k == 0 ? 0 : min(maxDecay, (1 + k) / (10 + k))
 *   shadow ← decay · shadow + (1 − decay) · weight
 * </pre>
 * so the average starts at the weights and slowly becomes a long-run mean.
 */
public final class Ema {

    private final double maxDecay;
    private long optimizationStep;
    private final Map<String, NDArray> shadow = new LinkedHashMap<>();
    private final NDManager manager;

    /** An average of {@code weights} (copied now) with diffusers' default maximum decay 0.9999 or another one. */
    public Ema(Map<String, NDArray> weights, double maxDecay) {
        if (maxDecay < 0 || maxDecay >= 1) {
            throw new IllegalArgumentException("EMA decay must be in [0, 1), got " + maxDecay);
        }
        this.maxDecay = maxDecay;
        NDArray any = weights.values().iterator().next();
        this.manager = NDManager.newBaseManager(any.getDevice());
        weights.forEach((k, v) -> shadow.put(k, v.duplicate().stopGradient()));
        shadow.values().forEach(a -> a.attach(manager));
    }

    /** The decay used at optimisation step {@code n} (1-based). */
    public double decayAt(long n) {
        long k = Math.max(0, n - 1);
        if (k == 0) {
            return 0;
        }
        return Math.min(maxDecay, (1.0 + k) / (10.0 + k));
    }

    /** Folds the current weights in; call once after each optimiser step. */
    public void update(Map<String, NDArray> weights) {
        optimizationStep++;
        double d = decayAt(optimizationStep);
        for (Map.Entry<String, NDArray> e : shadow.entrySet()) {
            NDArray w = weights.get(e.getKey());
            try (NDArray part = w.mul(1 - d)) {
                e.getValue().muli(d).addi(part);
            }
        }
    }

    /** The averaged weights (live arrays). */
    public Map<String, NDArray> weights() {
        return shadow;
    }

    /** Updates done so far. */
    public long steps() {
        return optimizationStep;
    }

    /** Restores the step count (on resume; the shadow weights come from the checkpoint's EMA file). */
    public void setSteps(long steps) {
        this.optimizationStep = steps;
    }
}
