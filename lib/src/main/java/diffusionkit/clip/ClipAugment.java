package diffusionkit.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Random;

/**
 * The course's CLIP-guidance augmentations as differentiable NDArray operations, seeded:
 * {@code RandomResizedCrop(224)} (scale 0.08–1, ratio 3/4–4/3), {@code RandomAffine(degrees=5)} (a small rotation
 * about the centre, zero fill) and {@code RandomHorizontalFlip()}, like torchvision applied to a batch tensor: one
 * draw of the parameters for the whole batch.
 *
 * <p>All three are one bilinear resampling: each output pixel is mapped back (flip, inverse rotation, inverse
 * crop-resize with {@code align_corners=False}) to a point of the input, read with bilinear weights from its four
 * neighbours ({@code gather}), so gradients flow back to the image. Differences from torchvision, harmless for
 * guidance: no antialias filter when the crop is shrunk, and the rotation samples the input directly instead of the
 * already resized crop. These are plausible augmentations, not a bit-exact copy of torchvision.
 */
public final class ClipAugment {

    /**
     * One draw of the augmentation parameters, in input pixels.
     *
     * @param top first row of the crop
     * @param left first column of the crop
     * @param height rows of the crop
     * @param width columns of the crop
     * @param angleDegrees rotation about the centre, counter-clockwise on screen (rows go down), as torchvision's:
     *     at 90 the result is numpy's {@code rot90}
     * @param flip whether the result is mirrored left-right
     */
    public record Params(int top, int left, int height, int width, double angleDegrees, boolean flip) {

        /** The whole image, no rotation, no flip (a plain resize). */
        public static Params identity(int height, int width) {
            return new Params(0, 0, height, width, 0, false);
        }
    }

    /** Smallest aspect ratio (width / height) of a crop: 3/4, as torchvision's default {@code ratio}. */
    public static final double MIN_RATIO = 3.0 / 4.0;
    /** Largest aspect ratio of a crop: 4/3. */
    public static final double MAX_RATIO = 4.0 / 3.0;

    private final int size;
    private final double minScale;
    private final double maxScale;
    private final double maxDegrees;
    private final boolean flip;

    /**
     * @param size output side (224 for CLIP ViT-B/32)
     * @param minScale smallest crop area as a fraction of the image (0.08 in torchvision)
     * @param maxScale largest crop area fraction (1.0)
     * @param maxDegrees largest rotation in degrees either way (5 in the course)
     * @param flip whether to flip left-right with probability 1/2
     */
    public ClipAugment(int size, double minScale, double maxScale, double maxDegrees, boolean flip) {
        if (size < 1 || minScale <= 0 || maxScale > 1 || minScale > maxScale || maxDegrees < 0) {
            throw new IllegalArgumentException("bad augmentation settings: size " + size + ", scale [" + minScale + ", "
                    + maxScale + "] (0 < min <= max <= 1), degrees " + maxDegrees + " (>= 0)");
        }
        this.size = size;
        this.minScale = minScale;
        this.maxScale = maxScale;
        this.maxDegrees = maxDegrees;
        this.flip = flip;
    }

    /** The course's {@code tfms} without the Normalize: RandomResizedCrop(size), RandomAffine(5), RandomHorizontalFlip(). */
    public static ClipAugment course(int size) {
        return new ClipAugment(size, 0.08, 1.0, 5, true);
    }

    /**
     * The augmentation CLIP guidance uses for a CLIP of input side {@code size}: the course's ({@link #course}) for a
     * CLIP of 224 pixels or more; for a smaller one, such as the kit's 32-pixel emoji CLIP, crops of 50-100% of the
     * area, rotations of up to 10 degrees and the flip, which that CLIP was trained with (a crop of 8% of a 32-pixel
     * image is a few pixels of colour).
     */
    public static ClipAugment forImageSize(int size) {
        return size >= 224 ? course(size) : new ClipAugment(size, 0.5, 1.0, 10, true);
    }

    /** Output side. */
    public int size() {
        return size;
    }

    /**
     * Draws crop, angle and flip for an input of {@code height} x {@code width}, as torchvision's {@code get_params}:
     * up to 10 tries of an area fraction uniform in [minScale, maxScale] and an aspect ratio (width / height)
     * log-uniform in [3/4, 4/3], sides rounded half to even (Python's {@code round}); a try whose crop does not fit
     * is discarded. When none fits, the central crop of the whole image with its aspect ratio clamped to [3/4, 4/3].
     * Then the angle, uniform in [-maxDegrees, maxDegrees], and the flip, with probability 1/2.
     */
    public Params sample(Random rng, int height, int width) {
        double area = (double) height * width;
        double logLo = Math.log(MIN_RATIO);
        double logHi = Math.log(MAX_RATIO);
        Params crop = null;
        for (int attempt = 0; attempt < 10 && crop == null; attempt++) {
            double target = area * (minScale + (maxScale - minScale) * rng.nextDouble());
            double ratio = Math.exp(logLo + (logHi - logLo) * rng.nextDouble());
            int cw = (int) Math.rint(Math.sqrt(target * ratio));
            int ch = (int) Math.rint(Math.sqrt(target / ratio));
            if (cw > 0 && cw <= width && ch > 0 && ch <= height) {
                int top = rng.nextInt(height - ch + 1);
                int left = rng.nextInt(width - cw + 1);
                crop = new Params(top, left, ch, cw, 0, false);
            }
        }
        if (crop == null) { // torchvision's fallback: a central crop, aspect ratio clamped to [3/4, 4/3]
            double inRatio = (double) width / height;
            int w = width;
            int h = height;
            if (inRatio < MIN_RATIO) {
                h = (int) Math.rint(w / MIN_RATIO);
            } else if (inRatio > MAX_RATIO) {
                w = (int) Math.rint(h * MAX_RATIO);
            }
            crop = new Params((height - h) / 2, (width - w) / 2, h, w, 0, false);
        }
        double angle = maxDegrees == 0 ? 0 : (rng.nextDouble() * 2 - 1) * maxDegrees;
        boolean mirror = flip && rng.nextBoolean();
        return new Params(crop.top(), crop.left(), crop.height(), crop.width(), angle, mirror);
    }

    /** Augments {@code images} [B, C, H, W] with a fresh draw from {@code rng}: [B, C, size, size]. */
    public NDArray apply(NDArray images, Random rng) {
        Shape s = images.getShape();
        return apply(images, sample(rng, (int) s.get(2), (int) s.get(3)), size);
    }

    /**
     * Resamples {@code images} [B, C, H, W] to [B, C, size, size] with the given parameters (bilinear, zero outside
     * the rotated crop). With {@link Params#identity} and {@code size == H == W} the result equals the input.
     */
    public static NDArray apply(NDArray images, Params p, int size) {
        Shape s = images.getShape();
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("images must be [batch, channels, height, width], got " + s);
        }
        long b = s.get(0);
        long c = s.get(1);
        int height = (int) s.get(2);
        int width = (int) s.get(3);
        int n = size * size;
        long[][] index = new long[4][n];
        float[][] weight = new float[4][n];
        double centre = (size - 1) / 2.0;
        double rad = Math.toRadians(p.angleDegrees());
        double cos = Math.cos(rad);
        double sin = Math.sin(rad);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int o = y * size + x;
                double xf = p.flip() ? size - 1 - x : x;                                 // horizontal flip
                double dx = xf - centre;
                double dy = y - centre;
                double xr = p.angleDegrees() == 0 ? xf : cos * dx - sin * dy + centre;    // inverse rotation
                double yr = p.angleDegrees() == 0 ? y : sin * dx + cos * dy + centre;
                if (xr < -0.5 || xr > size - 0.5 || yr < -0.5 || yr > size - 0.5) {
                    continue;                                                            // fill 0 (weights stay 0)
                }
                // inverse resize of the crop, align_corners=False, edges clamped as torch's interpolate
                double sx = clamp(p.left() + (xr + 0.5) * p.width() / size - 0.5, 0, width - 1);
                double sy = clamp(p.top() + (yr + 0.5) * p.height() / size - 0.5, 0, height - 1);
                int x0 = (int) Math.floor(sx);
                int y0 = (int) Math.floor(sy);
                int x1 = Math.min(x0 + 1, width - 1);
                int y1 = Math.min(y0 + 1, height - 1);
                float wx = (float) (sx - x0);
                float wy = (float) (sy - y0);
                index[0][o] = (long) y0 * width + x0;
                index[1][o] = (long) y0 * width + x1;
                index[2][o] = (long) y1 * width + x0;
                index[3][o] = (long) y1 * width + x1;
                weight[0][o] = (1 - wx) * (1 - wy);
                weight[1][o] = wx * (1 - wy);
                weight[2][o] = (1 - wx) * wy;
                weight[3][o] = wx * wy;
            }
        }
        NDManager m = images.getManager();
        NDArray flat = images.reshape(b, c, (long) height * width);
        NDArray out = null;
        for (int k = 0; k < 4; k++) {
            NDArray idx = m.create(index[k], new Shape(1, 1, n)).toDevice(images.getDevice(), false).repeat(0, b).repeat(1, c);
            NDArray w = m.create(weight[k], new Shape(1, 1, n)).toDevice(images.getDevice(), false)
                    .toType(images.getDataType(), false);
            NDArray term = flat.gather(idx, 2).mul(w);
            out = out == null ? term : out.add(term);
        }
        return out.reshape(b, c, size, size);
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    @Override
    public String toString() {
        return "ClipAugment(size " + size + ", crop scale [" + minScale + ", " + maxScale + "], rotation +-" + maxDegrees
                + " deg, flip " + flip + ")";
    }
}
