package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import diffusionkit.util.SeededNoise;

import java.util.Arrays;
import java.util.OptionalInt;

/** What DDPM and DDIM share: the schedule arrays, timesteps, addNoise and getVelocity. */
abstract class BaseScheduler implements Scheduler {

    protected final SchedulerConfig config;
    protected final int numTrainTimesteps;
    protected final float[] betas;          // β_t
    protected final float[] alphas;         // α_t = 1 − β_t
    protected final float[] alphasCumprod;  // ᾱ_t = ∏ α_s
    protected Integer numInferenceSteps;    // null until setTimesteps
    protected long[] timesteps;

    BaseScheduler(SchedulerConfig config, String className) {
        SchedulerConfig c = config.forClass(className);
        c.validateFor(className);
        this.config = c;
        this.numTrainTimesteps = c.numTrainTimesteps();
        this.betas = BetaSchedules.fromConfig(c);
        this.alphas = BetaSchedules.alphas(betas);
        this.alphasCumprod = BetaSchedules.cumprod(alphas);
        this.timesteps = new long[numTrainTimesteps];
        for (int i = 0; i < numTrainTimesteps; i++) {
            timesteps[i] = numTrainTimesteps - 1 - i;
        }
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public int numTrainTimesteps() {
        return numTrainTimesteps;
    }

    @Override
    public float[] betas() {
        return betas.clone();
    }

    @Override
    public float[] alphas() {
        return alphas.clone();
    }

    @Override
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    @Override
    public long[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public OptionalInt numInferenceSteps() {
        return numInferenceSteps == null ? OptionalInt.empty() : OptionalInt.of(numInferenceSteps);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        long[] t = TimestepSpacing.timesteps(config.timestepSpacing(), numTrainTimesteps, numInferenceSteps,
                config.stepsOffset());
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = t;
    }

    /** ᾱ_t, checking that t is a training timestep. */
    protected float alphaCumprodAt(long t) {
        return alphasCumprod[checkTimestep(t)];
    }

    protected int checkTimestep(long t) {
        if (t < 0 || t >= numTrainTimesteps) {
            throw new IllegalArgumentException("timestep " + t + " is outside [0, " + (numTrainTimesteps - 1)
                    + "], the " + numTrainTimesteps + " training timesteps of this " + getClass().getSimpleName()
                    + ": pass one of timesteps()");
        }
        return (int) t;
    }

    @Override
    public NDArray addNoise(NDArray originalSamples, NDArray noise, NDArray timesteps) {
        return mixByTimestep(originalSamples, noise, timestepValues(timesteps), false);
    }

    @Override
    public NDArray addNoise(NDArray originalSamples, NDArray noise, long timestep) {
        return mixByTimestep(originalSamples, noise, new long[] {timestep}, false);
    }

    @Override
    public NDArray getVelocity(NDArray sample, NDArray noise, NDArray timesteps) {
        return mixByTimestep(sample, noise, timestepValues(timesteps), true);
    }

    /**
     * addNoise: √ᾱ·x + √(1−ᾱ)·noise; velocity: √ᾱ·noise − √(1−ᾱ)·x, with the coefficients per batch
     * element, shaped [B, 1, ..., 1] as diffusers' flatten + unsqueeze.
     */
    private NDArray mixByTimestep(NDArray x, NDArray noise, long[] ts, boolean velocity) {
        if (!x.getShape().equals(noise.getShape())) {
            throw new IllegalArgumentException("sample shape " + x.getShape() + " and noise shape " + noise.getShape()
                    + " differ: pass noise of the sample's shape");
        }
        int ndim = Math.max(1, x.getShape().dimension());
        if (ts.length != 1 && (x.getShape().dimension() == 0 || x.getShape().get(0) != ts.length)) {
            throw new IllegalArgumentException(ts.length + " timesteps for a batch of shape " + x.getShape()
                    + ": pass one timestep per batch element (or a single one)");
        }
        float[] sqrtAlphaProd = new float[ts.length];
        float[] sqrtOneMinusAlphaProd = new float[ts.length];
        for (int i = 0; i < ts.length; i++) {
            float acp = alphaCumprodAt(ts[i]);
            sqrtAlphaProd[i] = sqrt(acp);                 // √ᾱ_t
            sqrtOneMinusAlphaProd[i] = sqrt(1f - acp);    // √(1−ᾱ_t)
        }
        long[] dims = new long[ndim];
        Arrays.fill(dims, 1L);
        dims[0] = ts.length;
        Shape shape = new Shape(dims);
        try (NDScope scope = new NDScope()) {
            NDArray a = constant(x, sqrtAlphaProd, shape);
            NDArray b = constant(x, sqrtOneMinusAlphaProd, shape);
            NDArray out = velocity ? a.mul(noise).sub(b.mul(x)) : a.mul(x).add(b.mul(noise));
            NDScope.unregister(out);
            return out;
        }
    }

    /** Values of a timesteps array: integer dtype, shape [B], [1] or scalar. */
    protected static long[] timestepValues(NDArray timesteps) {
        if (!timesteps.getDataType().isInteger()) {
            throw new IllegalArgumentException("timesteps must be an integer array (int64 as in diffusers), got "
                    + timesteps.getDataType() + ": convert with toType(DataType.INT64, false)");
        }
        if (timesteps.getShape().dimension() > 1) {
            throw new IllegalArgumentException("timesteps must have shape [B] or be a scalar, got " + timesteps.getShape());
        }
        if (timesteps.getDataType() == DataType.INT64) {
            return timesteps.toLongArray();
        }
        try (NDArray t64 = timesteps.toType(DataType.INT64, false)) {
            return t64.toLongArray();
        }
    }

    /** A constant array on {@code like}'s device and dtype (created in the current NDScope). */
    protected static NDArray constant(NDArray like, float[] values, Shape shape) {
        NDArray c = like.getManager().create(values, shape);
        if (!c.getDevice().equals(like.getDevice())) {
            c = c.toDevice(like.getDevice(), false);
        }
        if (c.getDataType() != like.getDataType()) {
            c = c.toType(like.getDataType(), false);
        }
        return c;
    }

    /** Noise of {@code like}'s shape: the explicit array, else from the generator, else the engine's RNG. */
    protected static NDArray noiseLike(NDArray like, NDArray explicit, SeededNoise generator) {
        if (explicit != null) {
            if (!explicit.getShape().equals(like.getShape())) {
                throw new IllegalArgumentException("variance noise has shape " + explicit.getShape()
                        + " but the model output has shape " + like.getShape() + ": pass noise of the same shape");
            }
            return explicit;
        }
        NDArray n;
        if (generator != null) {
            n = generator.randn(like.getManager(), like.getShape());
        } else {
            n = like.getManager().randomNormal(0f, 1f, like.getShape(), DataType.FLOAT32);
        }
        if (!n.getDevice().equals(like.getDevice())) {
            n = n.toDevice(like.getDevice(), false);
        }
        if (n.getDataType() != like.getDataType()) {
            n = n.toType(like.getDataType(), false);
        }
        return n;
    }

    /** float32 square root, correctly rounded (as torch's {@code x ** 0.5} on a float32 tensor). */
    protected static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }

    /** Checks the prediction type and shapes shared by both steps. */
    protected void checkStepInputs(NDArray modelOutput, NDArray sample) {
        if (!modelOutput.getShape().equals(sample.getShape())) {
            throw new IllegalArgumentException("model output shape " + modelOutput.getShape() + " differs from sample shape "
                    + sample.getShape() + ": " + getClass().getSimpleName() + " supports models that predict "
                    + config.predictionType() + " with the sample's shape (no learned variance channels)");
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + config.toJsonObject();
    }
}
