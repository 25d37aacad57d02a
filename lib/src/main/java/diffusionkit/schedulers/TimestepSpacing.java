package diffusionkit.schedulers;

/**
 * The inference timesteps of diffusers' {@code set_timesteps} for the three spacings of Lin et al.
 * 2023, Table 2, computed with the same NumPy arithmetic (double precision, round half to even).
 */
public final class TimestepSpacing {

    private TimestepSpacing() {}

    /**
     * The timesteps, in descending (sampling) order.
     *
     * @param spacing            leading, trailing or linspace
     * @param numTrainTimesteps  N, the training steps
     * @param numInferenceSteps  n, the sampling steps (1 ≤ n ≤ N)
     * @param stepsOffset        added to every timestep with leading spacing
     */
    public static long[] timesteps(String spacing, int numTrainTimesteps, int numInferenceSteps, int stepsOffset) {
        int nTrain = numTrainTimesteps;
        int n = numInferenceSteps;
        if (n < 1) {
            throw new IllegalArgumentException("num_inference_steps must be at least 1, got " + n);
        }
        if (n > nTrain) {
            throw new IllegalArgumentException("num_inference_steps " + n + " cannot be larger than num_train_timesteps "
                    + nTrain + " (the model was trained on " + nTrain + " timesteps): ask for at most " + nTrain + " steps");
        }
        switch (spacing) {
            case "linspace": {
                // np.linspace(0, N - 1, n).round()[::-1]
                long[] t = new long[n];
                double step = n > 1 ? (double) (nTrain - 1) / (n - 1) : 0;
                for (int i = 0; i < n; i++) {
                    double v = (n > 1 && i == n - 1) ? nTrain - 1 : i * step;
                    t[n - 1 - i] = (long) Math.rint(v);
                }
                return t;
            }
            case "leading": {
                // (np.arange(0, n) * (N // n)).round()[::-1] + steps_offset
                long ratio = nTrain / n;
                long[] t = new long[n];
                for (int i = 0; i < n; i++) {
                    t[n - 1 - i] = i * ratio + stepsOffset;
                }
                return t;
            }
            case "trailing": {
                // np.round(np.arange(N, 0, -N / n)) - 1
                double ratio = (double) nTrain / n;
                double delta = -ratio;
                int len = (int) Math.ceil((0.0 - nTrain) / delta);
                double d = (nTrain + delta) - nTrain; // NumPy's fill recomputes delta from the first two values
                long[] t = new long[len];
                for (int i = 0; i < len; i++) {
                    double v = i == 0 ? nTrain : i == 1 ? nTrain + delta : nTrain + i * d;
                    t[i] = (long) Math.rint(v) - 1;
                }
                return t;
            }
            default:
                throw new IllegalArgumentException("timestep_spacing '" + spacing + "' is not supported: use one of "
                        + SchedulerConfig.TIMESTEP_SPACINGS);
        }
    }
}
