package diffusionkit.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The geometry of the course's augmentations ({@link ClipAugment}) against closed forms: the rotation of known images,
 * the ranges torchvision's {@code RandomResizedCrop.get_params} draws from, and the flip rate over many seeded draws.
 */
class ClipAugmentTest {

    static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /**
     * A quarter turn maps pixel centres onto pixel centres, so it is exact: counter-clockwise on screen (rows go
     * down), output[y][x] = input[x][size-1-y], which is numpy's {@code rot90} (and torchvision's {@code rotate(90)}).
     */
    @Test
    void aQuarterTurnIsNumpysRot90() {
        int size = 16;
        try (NDManager m = manager.newSubManager()) {
            NDArray img = new SeededNoise(1).randn(m, new Shape(2, 3, size, size));
            float[] in = img.toFloatArray();
            float[] out = ClipAugment.apply(img, new ClipAugment.Params(0, 0, size, size, 90, false), size).toFloatArray();
            for (int bc = 0; bc < 6; bc++) {
                int o = bc * size * size;
                for (int y = 0; y < size; y++) {
                    for (int x = 0; x < size; x++) {
                        assertEquals(in[o + x * size + (size - 1 - y)], out[o + y * size + x], 1e-5f, "(" + y + ", " + x + ")");
                    }
                }
            }
        }
    }

    /**
     * A 5 degree rotation (the course's largest) of a linear ramp v = 0.01 x + 0.02 y: bilinear interpolation is
     * exact on a linear function, so every output pixel whose source point s = c + R(θ)(o − c) lies inside the image
     * holds the ramp's value at s, and every one whose source lies outside is 0 (the zero fill).
     */
    @Test
    void aSmallRotationOfARampIsTheRampAtTheRotatedPoint() {
        int size = 64;
        double c = (size - 1) / 2.0;
        double th = Math.toRadians(5);
        float[] ramp = new float[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                ramp[y * size + x] = 0.01f * x + 0.02f * y;
            }
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray img = m.create(ramp, new Shape(1, 1, size, size));
            float[] out = ClipAugment.apply(img, new ClipAugment.Params(0, 0, size, size, 5, false), size).toFloatArray();
            int inside = 0;
            int outside = 0;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    // where output pixel (x, y) comes from: the inverse of a counter-clockwise turn on screen
                    double sx = c + Math.cos(th) * (x - c) - Math.sin(th) * (y - c);
                    double sy = c + Math.sin(th) * (x - c) + Math.cos(th) * (y - c);
                    float v = out[y * size + x];
                    if (sx >= 0 && sx <= size - 1 && sy >= 0 && sy <= size - 1) {
                        assertEquals(0.01 * sx + 0.02 * sy, v, 1e-5, "(" + x + ", " + y + ")");
                        inside++;
                    } else if (sx < -0.5 || sx > size - 0.5 || sy < -0.5 || sy > size - 0.5) {
                        assertEquals(0f, v, "(" + x + ", " + y + ") comes from outside the image");
                        outside++;
                    }
                }
            }
            System.out.printf("5 degree ramp: %d pixels inside, %d zero-filled (of %d)%n", inside, outside, size * size);
            assertTrue(outside > 0 && inside > size * size * 0.9, inside + " inside, " + outside + " outside");
        }
    }

    /**
     * A single bright pixel at (x, y) = (52, 32) of a 64 x 64 image turned by 30 degrees lands, as the intensity's
     * centroid, where the counter-clockwise turn about the centre c takes it: c + (cos θ dx + sin θ dy,
     * −sin θ dx + cos θ dy), i.e. up and to the left. Bilinear resampling spreads it over a few pixels (total
     * intensity 1.036 and a centroid 0.04 px from the closed form, computed independently).
     */
    @Test
    void aBrightPixelTurnsCounterClockwise() {
        int size = 64;
        double c = (size - 1) / 2.0;
        double th = Math.toRadians(30);
        float[] px = new float[size * size];
        px[32 * size + 52] = 1;
        try (NDManager m = manager.newSubManager()) {
            float[] out = ClipAugment.apply(m.create(px, new Shape(1, 1, size, size)),
                    new ClipAugment.Params(0, 0, size, size, 30, false), size).toFloatArray();
            double total = 0;
            double cx = 0;
            double cy = 0;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    double v = out[y * size + x];
                    total += v;
                    cx += v * x;
                    cy += v * y;
                }
            }
            cx /= total;
            cy /= total;
            double ex = c + Math.cos(th) * (52 - c) + Math.sin(th) * (32 - c);
            double ey = c - Math.sin(th) * (52 - c) + Math.cos(th) * (32 - c);
            System.out.printf("bright pixel, 30 degrees: centroid (%.4f, %.4f), closed form (%.4f, %.4f), total %.4f%n",
                    cx, cy, ex, ey, total);
            assertEquals(ex, cx, 0.1, "centroid x");
            assertEquals(ey, cy, 0.1, "centroid y");
            assertEquals(1.0, total, 0.05, "intensity is preserved up to the bilinear spread");
            assertTrue(cy < 32 - 5, "a pixel right of the centre moves up under a counter-clockwise turn");
        }
    }

    /**
     * 20,000 seeded draws on a 256 x 256 image: every crop fits, its aspect ratio w/h is in [3/4, 4/3] and its area
     * fraction in [0.08, 1] up to the rounding of the sides to whole pixels (±0.5 px each), and the draws fill both
     * ranges; angles fill [-5, 5].
     */
    @Test
    void cropRatioAndAreaStayInTorchvisionsRanges() {
        int n = 20_000;
        int side = 256;
        ClipAugment aug = ClipAugment.course(224);
        Random rng = new Random(2024);
        double minRatio = Double.MAX_VALUE;
        double maxRatio = 0;
        double minArea = Double.MAX_VALUE;
        double maxArea = 0;
        double minAngle = 0;
        double maxAngle = 0;
        for (int i = 0; i < n; i++) {
            ClipAugment.Params p = aug.sample(rng, side, side);
            String what = "draw " + i + ": " + p;
            assertTrue(p.top() >= 0 && p.left() >= 0 && p.top() + p.height() <= side && p.left() + p.width() <= side, what);
            double w = p.width();
            double h = p.height();
            assertTrue((w + 0.5) / (h - 0.5) >= 3.0 / 4 && (w - 0.5) / (h + 0.5) <= 4.0 / 3, what);
            double a = (double) side * side;
            assertTrue((w + 0.5) * (h + 0.5) >= 0.08 * a && (w - 0.5) * (h - 0.5) <= a, what);
            assertTrue(Math.abs(p.angleDegrees()) <= 5, what);
            minRatio = Math.min(minRatio, w / h);
            maxRatio = Math.max(maxRatio, w / h);
            minArea = Math.min(minArea, w * h / a);
            maxArea = Math.max(maxArea, w * h / a);
            minAngle = Math.min(minAngle, p.angleDegrees());
            maxAngle = Math.max(maxAngle, p.angleDegrees());
        }
        System.out.printf("%d crops: ratio %.4f..%.4f, area %.4f..%.4f, angle %.3f..%.3f%n", n, minRatio, maxRatio,
                minArea, maxArea, minAngle, maxAngle);
        assertTrue(minRatio < 0.76 && maxRatio > 1.31, "ratios fill [3/4, 4/3]: " + minRatio + ".." + maxRatio);
        assertTrue(minArea < 0.082 && maxArea > 0.97, "areas fill [0.08, 1]: " + minArea + ".." + maxArea);
        assertTrue(minAngle < -4.99 && maxAngle > 4.99, "angles fill [-5, 5]: " + minAngle + ".." + maxAngle);
    }

    /**
     * When no try fits (an 8 x 256 strip: any crop of area >= 0.08 and ratio <= 4/3 is taller than 8), torchvision
     * falls back to the central crop with the ratio clamped: height 8, width round(8 · 4/3) = 11, left (256 − 11) / 2.
     */
    @Test
    void theFallbackIsTorchvisionsCentralCrop() {
        ClipAugment aug = ClipAugment.course(224);
        Random rng = new Random(1);
        for (int i = 0; i < 100; i++) {
            ClipAugment.Params p = aug.sample(rng, 8, 256);
            assertEquals(0, p.top());
            assertEquals(8, p.height());
            assertEquals(11, p.width());
            assertEquals(122, p.left());
            ClipAugment.Params q = aug.sample(rng, 256, 8);   // tall: width 8, height round(8 / (3/4)) = 11
            assertEquals(8, q.width());
            assertEquals(11, q.height());
            assertEquals(122, q.top());
            assertEquals(0, q.left());
        }
    }

    /**
     * The flip happens with probability 1/2: over n = 20,000 seeded draws the count of flips is Binomial(n, 1/2), mean
     * n/2, standard deviation √n / 2 = 70.7; it must lie within 4 standard deviations (a fair coin leaves that band
     * with probability 6e-5). Without flipping, none.
     */
    @Test
    void theFlipRateIsOneHalf() {
        int n = 20_000;
        Random rng = new Random(99);
        ClipAugment aug = ClipAugment.course(224);
        int flips = 0;
        for (int i = 0; i < n; i++) {
            if (aug.sample(rng, 256, 256).flip()) {
                flips++;
            }
        }
        double sd = Math.sqrt(n * 0.25);
        System.out.printf("flips: %d of %d (expected %d ± %.1f)%n", flips, n, n / 2, sd);
        assertTrue(Math.abs(flips - n / 2.0) <= 4 * sd, flips + " flips of " + n);
        ClipAugment noFlip = new ClipAugment(224, 0.08, 1.0, 5, false);
        for (int i = 0; i < 1000; i++) {
            assertFalse(noFlip.sample(rng, 256, 256).flip());
        }
    }
}
