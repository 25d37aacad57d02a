package diffusionkit.data;

/**
 * Image transforms on planar float images ({@code CHW}, values in [0, 1]), as the course applies them with
 * torchvision: {@code Resize}, {@code RandomHorizontalFlip}, {@code ToTensor}, {@code Normalize(0.5, 0.5)}.
 */
public final class Transforms {

    private Transforms() {}

    /**
     * Resizes a CHW image with a bilinear filter that widens with the scale when shrinking (anti-aliased,
     * as PIL's {@code Image.resize(..., BILINEAR)} that torchvision's {@code Resize} uses on PIL images).
     */
    public static float[] resize(float[] chw, int c, int h, int w, int outH, int outW) {
        if (h == outH && w == outW) {
            return chw.clone();
        }
        // horizontal pass: [c, h, w] -> [c, h, outW]
        Filter fx = new Filter(w, outW);
        float[] tmp = new float[c * h * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int src = (ch * h + y) * w;
                int dst = (ch * h + y) * outW;
                for (int x = 0; x < outW; x++) {
                    double s = 0;
                    for (int k = 0; k < fx.count[x]; k++) {
                        s += fx.weights[x][k] * chw[src + fx.first[x] + k];
                    }
                    tmp[dst + x] = (float) s;
                }
            }
        }
        // vertical pass: [c, h, outW] -> [c, outH, outW]
        Filter fy = new Filter(h, outH);
        float[] out = new float[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < outH; y++) {
                int dst = (ch * outH + y) * outW;
                for (int x = 0; x < outW; x++) {
                    double s = 0;
                    for (int k = 0; k < fy.count[y]; k++) {
                        s += fy.weights[y][k] * tmp[(ch * h + fy.first[y] + k) * outW + x];
                    }
                    out[dst + x] = (float) s;
                }
            }
        }
        return out;
    }

    /** Mirrors a CHW image left to right, in place. */
    public static void flipHorizontal(float[] chw, int c, int h, int w) {
        for (int row = 0; row < c * h; row++) {
            int base = row * w;
            for (int x = 0; x < w / 2; x++) {
                float t = chw[base + x];
                chw[base + x] = chw[base + w - 1 - x];
                chw[base + w - 1 - x] = t;
            }
        }
    }

    /** Maps [0, 1] to [-1, 1] in place: {@code (x - 0.5) / 0.5}, torchvision's {@code Normalize([0.5], [0.5])}. */
    public static void normalizeToMinusOneOne(float[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = (values[i] - 0.5f) / 0.5f;
        }
    }

    /** Repeats a single channel {@code n} times ({@code [1, h, w] -> [n, h, w]}). */
    public static float[] repeatChannels(float[] hw, int n) {
        float[] out = new float[hw.length * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(hw, 0, out, i * hw.length, hw.length);
        }
        return out;
    }

    /** Triangle-filter taps for one axis, PIL style: support scales with the shrink factor. */
    private static final class Filter {
        final int[] first;
        final int[] count;
        final double[][] weights;

        Filter(int in, int out) {
            double scale = (double) in / out;
            double support = Math.max(scale, 1.0);
            first = new int[out];
            count = new int[out];
            weights = new double[out][];
            for (int o = 0; o < out; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(center - support));
                int hi = Math.min(in, (int) Math.ceil(center + support));
                double[] wts = new double[hi - lo];
                double sum = 0;
                for (int i = lo; i < hi; i++) {
                    double d = Math.abs((i + 0.5 - center) / support);
                    double wgt = d < 1 ? 1 - d : 0;
                    wts[i - lo] = wgt;
                    sum += wgt;
                }
                for (int i = 0; i < wts.length; i++) {
                    wts[i] /= sum;
                }
                first[o] = lo;
                count[o] = wts.length;
                weights[o] = wts;
            }
        }
    }
}
