package diffusionkit.schedulers;

/**
 * The noise schedules of diffusers v0.31, computed in float32 exactly as diffusers' PyTorch code
 * does (so that 1000-step cumulative products agree to float32 rounding).
 *
 * <p>β_t is the variance of the noise added at step t; α_t = 1 − β_t; ᾱ_t = ∏_{s≤t} α_s
 * ({@code alphas_cumprod}). See Ho et al. 2020 (DDPM), Nichol and Dhariwal 2021 (cosine schedule),
 * Lin et al. 2023 (zero terminal SNR).
 */
public final class BetaSchedules {

    private BetaSchedules() {}

    /**
     * {@code torch.linspace(start, end, n, dtype=torch.float32)} as PyTorch's CPU kernel computes it:
     * step = (end − start)/(n − 1) in float32, the first half counted up from start, the second
     * half counted down from end.
     */
    public static float[] linspaceFloat32(double start, double end, int n) {
        float[] out = new float[n];
        if (n == 1) {
            out[0] = (float) start;
            return out;
        }
        float s = (float) start;
        float e = (float) end;
        float step = (e - s) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++) {
            out[i] = i < halfway ? s + step * i : e - step * (n - i - 1);
        }
        return out;
    }

    /** {@code linear}: β evenly spaced from beta_start to beta_end (DDPM paper). */
    public static float[] linear(double betaStart, double betaEnd, int n) {
        return linspaceFloat32(betaStart, betaEnd, n);
    }

    /** {@code scaled_linear}: √β evenly spaced, then squared (latent diffusion / Stable Diffusion). */
    public static float[] scaledLinear(double betaStart, double betaEnd, int n) {
        float[] b = linspaceFloat32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
        for (int i = 0; i < n; i++) {
            b[i] = b[i] * b[i];
        }
        return b;
    }

    /**
     * {@code squaredcos_cap_v2}: the Glide / improved-DDPM cosine schedule,
     * ᾱ(t) = cos²((t + 0.008)/1.008 · π/2), β_i = min(1 − ᾱ((i+1)/n)/ᾱ(i/n), 0.999), computed in
     * double (Python floats) and then rounded to float32.
     */
    public static float[] squaredcosCapV2(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - alphaBarCosine(t2) / alphaBarCosine(t1), 0.999);
        }
        return b;
    }

    private static double alphaBarCosine(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** {@code sigmoid} (GeoDiff; DDPMScheduler only): sigmoid(linspace(−6, 6)) · (end − start) + start. */
    public static float[] sigmoid(double betaStart, double betaEnd, int n) {
        float[] x = linspaceFloat32(-6, 6, n);
        float scale = (float) (betaEnd - betaStart);
        float shift = (float) betaStart;
        for (int i = 0; i < n; i++) {
            float sig = (float) (1.0 / (1.0 + Math.exp(-x[i])));
            x[i] = sig * scale + shift;
        }
        return x;
    }

    /**
     * Rescales betas to zero terminal SNR (Lin et al. 2023, Algorithm 1), in float32 like diffusers'
     * {@code rescale_zero_terminal_snr}: √ᾱ is shifted so its last value is 0 and scaled so its
     * first value is unchanged.
     */
    public static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] alphas = alphas(betas);
        float[] sqrtAlphaBar = cumprod(alphas);
        for (int i = 0; i < n; i++) {
            sqrtAlphaBar[i] = (float) Math.sqrt(sqrtAlphaBar[i]);
        }
        float first = sqrtAlphaBar[0];
        float last = sqrtAlphaBar[n - 1];
        float scale = first / (first - last);
        float[] alphaBar = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (sqrtAlphaBar[i] - last) * scale;
            alphaBar[i] = v * v;
        }
        float[] out = new float[n];
        out[0] = 1f - alphaBar[0];
        for (int i = 1; i < n; i++) {
            out[i] = 1f - alphaBar[i] / alphaBar[i - 1];
        }
        return out;
    }

    /** α = 1 − β in float32. */
    public static float[] alphas(float[] betas) {
        float[] a = new float[betas.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = 1f - betas[i];
        }
        return a;
    }

    /** Sequential float32 cumulative product ({@code torch.cumprod} on CPU). */
    public static float[] cumprod(float[] x) {
        float[] out = new float[x.length];
        float p = 1f;
        for (int i = 0; i < x.length; i++) {
            p *= x[i];
            out[i] = p;
        }
        return out;
    }

    /** The betas a config describes: trained_betas, else its beta_schedule, then the optional zero-SNR rescale. */
    public static float[] fromConfig(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        float[] betas = c.trainedBetas();
        if (betas == null) {
            betas = switch (c.betaSchedule()) {
                case "linear" -> linear(c.betaStart(), c.betaEnd(), n);
                case "scaled_linear" -> scaledLinear(c.betaStart(), c.betaEnd(), n);
                case "squaredcos_cap_v2" -> squaredcosCapV2(n);
                case "sigmoid" -> sigmoid(c.betaStart(), c.betaEnd(), n);
                default -> throw new IllegalArgumentException("scheduler config " + c.source() + ": \"beta_schedule\" is '"
                        + c.betaSchedule() + "', which is not implemented: use one of " + SchedulerConfig.BETA_SCHEDULES);
            };
        }
        if (c.rescaleBetasZeroSnr()) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        return betas;
    }
}
