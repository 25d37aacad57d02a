package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.models.NoisePredictor;
import diffusionkit.models.UNet2DModel;
import diffusionkit.util.Scalars;

import java.nio.file.Path;
import java.util.Map;

/**
 * A noise predictor whose samples are known, for guidance tests: the exact (posterior-mean) denoiser of Gaussian
 * "images" whose pixels are one colour per image, c ~ N(0, s²) per channel, plus pixel noise N(0, σ²), all in
 * [-1, 1] units; plus a small random-UNet term (0.05·√ᾱ_t·unet(x, t)) so that variant 2 has a network to
 * differentiate through.
 *
 * <p>Why not the random UNet alone: with random weights ε̂ has nothing to do with the noise and x̂_0 has a standard
 * deviation around 36 at the first step, so the samples are saturated garbage whatever the guidance does. The
 * Gaussian model behaves like a trained one where the colour guidance acts: the spatial mean of each channel is a
 * direction of large data variance (P·s² + σ², P pixels), so x̂_0's mean colour follows a shift of x from the first
 * steps on, while pixel detail does not.
 *
 * <p>Per component with data variance λ: x̂_0 = √ᾱ·λ/(ᾱ·λ + 1 − ᾱ)·x, and ε̂ = (x − √ᾱ·x̂_0)/√(1 − ᾱ).
 */
final class GaussianImageModel implements NoisePredictor {

    static final double COLOUR_STD = 0.5;   // s
    static final double PIXEL_STD = 0.1;    // σ
    static final double UNET_WEIGHT = 0.05;

    private final UNet2DModel unet;
    private final float[] alphasCumprod;
    private final NDManager manager;

    GaussianImageModel(UNet2DModel unet, float[] alphasCumprod) {
        this.unet = unet;
        this.alphasCumprod = alphasCumprod;
        this.manager = unet.manager();
    }

    /** The Gaussian denoiser alone (no UNet term): fast, for tests that need many samples. */
    GaussianImageModel(float[] alphasCumprod, NDManager manager) {
        this.unet = null;
        this.alphasCumprod = alphasCumprod;
        this.manager = manager;
    }

    static double gain(double alphaBar, double lambda) {
        return Math.sqrt(alphaBar) * lambda / (alphaBar * lambda + 1 - alphaBar);
    }

    @Override
    public NDArray forward(NDArray x, NDArray timesteps, NDArray classLabels, boolean training) {
        long t = timesteps.toLongArray()[0];
        double a = alphasCumprod[(int) t];
        long b = x.getShape().get(0);
        long c = x.getShape().get(1);
        long p = x.getShape().get(2) * x.getShape().get(3);
        NDArray mean = x.reshape(b, c, p).mean(new int[] {2}, true).reshape(b, c, 1, 1);     // per-channel mean colour
        double kMean = gain(a, PIXEL_STD * PIXEL_STD + p * COLOUR_STD * COLOUR_STD);
        double kPixel = gain(a, PIXEL_STD * PIXEL_STD);
        // Scalars, not mul(Number): variant 2 differentiates through this model (see Scalars for why)
        NDArray x0 = Scalars.mul(mean, kMean).add(Scalars.mul(x.sub(mean), kPixel));
        NDArray eps = Scalars.div(x.sub(Scalars.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a));
        if (unet == null) {
            return eps;
        }
        return eps.add(Scalars.mul(unet.forward(x, timesteps, null, false), UNET_WEIGHT * Math.sqrt(a)));
    }

    @Override
    public Map<String, NDArray> stateDict() {
        return unet == null ? Map.of() : unet.stateDict();
    }

    @Override
    public void loadStateDict(Map<String, NDArray> stateDict) {
        unet.loadStateDict(stateDict);
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public void savePretrained(Path folder) {
        throw new UnsupportedOperationException("a test model");
    }

    @Override
    public void close() {}
}
