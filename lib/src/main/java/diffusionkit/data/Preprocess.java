package diffusionkit.data;

import java.util.Random;

/**
 * What happens to each image on its way into a batch, as in the course's
 * {@code Compose([Resize((s, s)), RandomHorizontalFlip(), ToTensor(), Normalize([0.5], [0.5])])}:
 * an optional resize, an optional random horizontal flip, optional channel repetition (grey to RGB),
 * and the mapping of [0, 1] to [-1, 1]. Immutable; {@code with*} methods return a copy.
 *
 * @param imageSize target height and width, or 0 to keep each image's own size
 * @param randomFlip whether to mirror each image with probability 1/2
 * @param channels number of output channels, or 0 to keep the dataset's
 */
public record Preprocess(int imageSize, boolean randomFlip, int channels) {

    /** No resize, no flip, own channels: just [0, 1] to [-1, 1]. */
    public static final Preprocess NONE = new Preprocess(0, false, 0);

    public Preprocess {
        if (imageSize < 0) {
            throw new IllegalArgumentException("image size must be positive (or 0 to keep it), got " + imageSize);
        }
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3 (or 0 to keep them), got " + channels);
        }
    }

    /** The course's training transforms for {@code size x size} images. */
    public static Preprocess course(int size) {
        return new Preprocess(size, true, 0);
    }

    public Preprocess withImageSize(int size) {
        return new Preprocess(size, randomFlip, channels);
    }

    public Preprocess withRandomFlip(boolean flip) {
        return new Preprocess(imageSize, flip, channels);
    }

    public Preprocess withChannels(int c) {
        return new Preprocess(imageSize, randomFlip, c);
    }

    /**
     * Applies the steps to one CHW image in [0, 1] and returns a new CHW image in [-1, 1].
     *
     * @param rng the source of the flip decision (unused when {@code randomFlip} is false)
     */
    public float[] apply(float[] chw, int c, int h, int w, Random rng) {
        int outH = imageSize > 0 ? imageSize : h;
        int outW = imageSize > 0 ? imageSize : w;
        float[] img = Transforms.resize(chw, c, h, w, outH, outW);
        if (randomFlip && rng.nextBoolean()) {
            Transforms.flipHorizontal(img, c, outH, outW);
        }
        if (channels == 3 && c == 1) {
            img = Transforms.repeatChannels(img, 3);
        } else if (channels == 1 && c == 3) {
            img = toGrey(img, outH * outW);
        }
        Transforms.normalizeToMinusOneOne(img);
        return img;
    }

    /**
     * The same steps, without the random flip, on a batch that is already in [-1, 1] ([N, C, H, W], e.g. generated
     * samples): what a model trained on data prepared by this {@code Preprocess} needs to read images of another size
     * or channel count (a 32x32 RGB classifier grading 28x28 grey samples). A new array on the batch's manager.
     */
    public ai.djl.ndarray.NDArray applyTo(ai.djl.ndarray.NDArray images) {
        ai.djl.ndarray.types.Shape s = images.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("applyTo needs a batch [N, C, H, W], got " + s);
        }
        int n = (int) s.get(0), c = (int) s.get(1), h = (int) s.get(2), w = (int) s.get(3);
        ai.djl.ndarray.NDArray asFloat = images.toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
        float[] all = asFloat.toFloatArray();
        if (asFloat != images) {
            asFloat.close();
        }
        Preprocess steps = new Preprocess(imageSize, false, channels);
        int plane = c * h * w;
        float[] out = null;
        int outPlane = 0;
        for (int i = 0; i < n; i++) {
            float[] chw = new float[plane];
            for (int k = 0; k < plane; k++) {
                chw[k] = (all[i * plane + k] + 1) / 2;                 // back to [0, 1]
            }
            float[] img = steps.apply(chw, c, h, w, null);
            if (out == null) {
                outPlane = img.length;
                out = new float[n * outPlane];
            }
            System.arraycopy(img, 0, out, i * outPlane, outPlane);
        }
        int outH = imageSize > 0 ? imageSize : h, outW = imageSize > 0 ? imageSize : w;
        int outC = n == 0 ? (channels > 0 ? channels : c) : outPlane / (outH * outW);
        ai.djl.ndarray.NDArray host = images.getManager().create(out == null ? new float[0] : out,
                new ai.djl.ndarray.types.Shape(n, outC, outH, outW));
        ai.djl.ndarray.NDArray placed = host.toDevice(images.getDevice(), false);
        if (placed != host) {
            host.close();
        }
        return placed;
    }

    private static float[] toGrey(float[] rgb, int plane) {
        float[] g = new float[plane];
        for (int i = 0; i < plane; i++) {
            // ITU-R 601-2 luma, as PIL's convert("L")
            g[i] = 0.299f * rgb[i] + 0.587f * rgb[plane + i] + 0.114f * rgb[2 * plane + i];
        }
        return g;
    }
}
