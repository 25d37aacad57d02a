package diffusionkit.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.schedulers.SchedulerConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Tiny models and synthetic image sets for the training tests. */
final class TinyTraining {

    private TinyTraining() {}

    /** A UNet small enough to train in a test: 8x8 RGB, channels (8, 16), GroupNorm 4, no attention. */
    static UNet2DConfig config(int size) {
        return UNet2DConfig.fromJson("""
                {"sample_size": %d, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                 "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 4}""".formatted(size));
    }

    /** A tiny UNet whose random initial weights are fixed by {@code seed}. */
    static UNet2DModel model(NDManager manager, int size, int seed) {
        Engine.getInstance().setRandomSeed(seed);
        return new UNet2DModel(config(size), manager);
    }

    /** DDPM with 100 training steps (linear betas scaled like diffusers' defaults for 1000). */
    static Scheduler scheduler() {
        return new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM).with(SchedulerConfig.NUM_TRAIN_TIMESTEPS, 100)
                .with(SchedulerConfig.BETA_START, 1e-3).with(SchedulerConfig.BETA_END, 0.2));
    }

    /**
     * {@code n} size x size RGB images: a disc of colour {@code rgb} with a random centre and radius on a background
     * of colour {@code bg}.
     */
    static ImageDataset discs(String name, int n, int size, long seed, int[] rgb, int[] bg) {
        Random r = new Random(seed);
        byte[][] px = new byte[n][3 * size * size];
        for (int k = 0; k < n; k++) {
            double cx = size / 2.0 + r.nextGaussian(), cy = size / 2.0 + r.nextGaussian();
            double rad = size * (0.25 + 0.15 * r.nextDouble());
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    boolean in = (x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) < rad * rad;
                    for (int c = 0; c < 3; c++) {
                        px[k][c * size * size + y * size + x] = (byte) (in ? rgb[c] : bg[c]);
                    }
                }
            }
        }
        return ImageDataset.of(name, 3, size, size, px, null, List.of());
    }

    /** Yellow discs on white, like emoji faces. */
    static ImageDataset faces(int n, int size, long seed) {
        return discs("faces", n, size, seed, new int[] {250, 200, 40}, new int[] {255, 255, 255});
    }

    /** Blue discs on black: a "new dataset" for fine-tuning. */
    static ImageDataset blueDiscs(int n, int size, long seed) {
        return discs("blue", n, size, seed, new int[] {40, 80, 230}, new int[] {10, 10, 10});
    }

    /** Copies of the model's weights as float arrays. */
    static Map<String, float[]> weights(Map<String, NDArray> stateDict) {
        Map<String, float[]> out = new LinkedHashMap<>();
        stateDict.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /** The largest absolute difference between two weight sets. */
    static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
        double m = 0;
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            float[] x = e.getValue();
            float[] y = b.get(e.getKey());
            for (int i = 0; i < x.length; i++) {
                m = Math.max(m, Math.abs(x[i] - y[i]));
            }
        }
        return m;
    }

    /** The root-mean-square difference between two weight sets. */
    static double rmsDiff(Map<String, float[]> a, Map<String, float[]> b) {
        double sum = 0;
        long n = 0;
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            float[] x = e.getValue();
            float[] y = b.get(e.getKey());
            for (int i = 0; i < x.length; i++) {
                double d = x[i] - y[i];
                sum += d * d;
            }
            n += x.length;
        }
        return Math.sqrt(sum / n);
    }
}
