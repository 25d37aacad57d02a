package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import diffusionkit.util.Scalars;

/**
 * diffusers' {@code Timesteps}: the sinusoidal embedding of the timesteps (no parameters), as in DDPM and
 * "Attention is all you need".
 */
public final class Timesteps extends UnaryBlock {

    private final int numChannels;
    private final boolean flipSinToCos;
    private final double downscaleFreqShift;

    /**
     * @param numChannels embedding width
     * @param flipSinToCos cos first (true) or sin first (false)
     * @param downscaleFreqShift the {@code freq_shift} of the config
     */
    public Timesteps(int numChannels, boolean flipSinToCos, double downscaleFreqShift) {
        this.numChannels = numChannels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
    }

    /** The embedding [N, numChannels] of {@code timesteps} [N]. */
    @Override
    public NDArray forward(NDArray timesteps) {
        return getTimestepEmbedding(timesteps, numChannels, flipSinToCos, downscaleFreqShift, 1.0, 10000);
    }

    /**
     * diffusers' {@code get_timestep_embedding}, in float32 like PyTorch:
     * {@code freq_i = exp(-ln(maxPeriod) · i / (half - shift))}, {@code arg = scale · t · freq},
     * {@code [sin(arg), cos(arg)]} (or {@code [cos, sin]} when flipped), zero-padded when the width is odd.
     *
     * @param timesteps a 1-D array of N timesteps (may be fractional)
     * @param embeddingDim output width
     * @param flipSinToCos cos first
     * @param downscaleFreqShift shift of the frequency denominator
     * @param scale multiplies the arguments
     * @param maxPeriod the longest period
     * @return [N, embeddingDim] float32
     */
    public static NDArray getTimestepEmbedding(NDArray timesteps, int embeddingDim, boolean flipSinToCos,
                                               double downscaleFreqShift, double scale, int maxPeriod) {
        if (timesteps.getShape().dimension() != 1) {
            throw new IllegalArgumentException("timesteps must be a 1-D array, got shape " + timesteps.getShape());
        }
        int half = embeddingDim / 2;
        NDManager m = timesteps.getManager();
        try (NDManager sub = m.newSubManager(timesteps.getDevice())) {
            NDArray exponent = sub.arange(0f, (float) half, 1f, DataType.FLOAT32, timesteps.getDevice())
                    .mul(-Math.log(maxPeriod))
                    .div(half - downscaleFreqShift);
            NDArray freqs = exponent.exp();
            NDArray t = timesteps.toType(DataType.FLOAT32, true);
            t.attach(sub);
            NDArray arg = t.reshape(-1, 1).mul(freqs.reshape(1, -1));
            if (scale != 1.0) {
                arg = Scalars.mul(arg, scale);
            }
            arg.attach(sub);
            NDArray sin = arg.sin();
            NDArray cos = arg.cos();
            NDArray emb = flipSinToCos ? cos.concat(sin, 1) : sin.concat(cos, 1);
            if (embeddingDim % 2 == 1) {
                emb = emb.pad(new Shape(0, 1, 0, 0), 0);
            }
            emb.attach(m);
            return emb;
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numChannels)};
    }
}
