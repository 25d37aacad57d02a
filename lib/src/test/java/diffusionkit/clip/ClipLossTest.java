package diffusionkit.clip;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import diffusionkit.io.Safetensors;
import diffusionkit.util.SeededNoise;
import diffusionkit.util.NativeMemory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The course's CLIP loss, its gradient and the CLIP normalisation against transformers + the course's code. */
class ClipLossTest {

    static NDManager manager;
    static ClipModel model;
    static Map<String, NDArray> ref;
    static Path folder;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        Path vectors = Path.of(ClipLossTest.class.getResource("/vectors/clip/clip_tiny_io.safetensors").toURI()).getParent();
        folder = vectors.resolve("clip_tiny");
        manager = NDManager.newBaseManager();
        model = ClipModel.fromPretrained(folder, manager);
        ref = Safetensors.read(vectors.resolve("clip_tiny_io.safetensors"), manager);
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    static NDArray target() {
        return ref.get("text_embeds").get(0);
    }

    static float maxAbs(NDArray a) {
        return a.abs().max().getFloat();
    }

    static void assertRelClose(NDArray expected, NDArray actual, String what) {
        assertEquals(expected.getShape(), actual.getShape(), what);
        float diff = maxAbs(expected.sub(actual));
        float scale = maxAbs(expected);
        assertTrue(scale > 0, what + " reference is zero");
        assertTrue(diff <= 1e-4f * scale, what + ": max|g - ref| = " + diff + " > 1e-4 * " + scale);
    }

    @Test
    void lossAndPixelGradientEqualReference() {
        try (NDManager m = manager.newSubManager()) {
            NDArray pixels = ref.get("pixel_values").duplicate();
            pixels.attach(m);
            pixels.setRequiresGradient(true);
            NDArray loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                loss = ClipLoss.sphericalDistanceLoss(model.getImageFeatures(pixels), target());
                gc.backward(loss);
            }
            assertEquals(ref.get("loss").getFloat(0), loss.getFloat(), 1e-5f, "loss");
            assertRelClose(ref.get("grad_pixel_values"), pixels.getGradient(), "grad_pixel_values");
        }
    }

    @Test
    void courseNormalizeLossAndGradientEqualReference() {
        try (NDManager m = manager.newSubManager()) {
            NDArray image = ref.get("course_image_m11").duplicate();
            image.attach(m);
            NDArray normalized = ClipLoss.clipNormalize(image);
            assertTrue(maxAbs(normalized.sub(ref.get("course_pixel_values"))) <= 1e-5f, "course_pixel_values");
            assertTrue(maxAbs(model.getImageFeatures(normalized).sub(ref.get("course_image_embeds"))) <= 1e-4f, "course_image_embeds");

            ClipLoss clipLoss = ClipLoss.builder().setModel(model).build();
            image.setRequiresGradient(true);
            NDArray loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                loss = clipLoss.compute(image, target());
                gc.backward(loss);
            }
            assertEquals(ref.get("course_loss").getFloat(0), loss.getFloat(), 1e-5f, "course_loss");
            assertRelClose(ref.get("course_grad_image_m11"), image.getGradient(), "course_grad_image_m11");
        }
    }

    @Test
    void sphericalDistanceClosedForm() {
        try (NDManager m = manager.newSubManager()) {
            // orthogonal unit vectors: |u - v| = sqrt 2, 2 asin(sqrt2/2)^2 = 2 (pi/4)^2; equal vectors: 0; opposite: 2 (pi/2)^2
            NDArray img = m.create(new float[] {3, 0, 0, 0, 2, 0, -1, 0, 0}, new Shape(3, 3));
            NDArray txt = m.create(new float[] {5, 0, 0});
            float[] d = ClipLoss.sphericalDistance(img, txt).toFloatArray();
            assertEquals(0f, d[0], 1e-6f);
            assertEquals(2 * Math.pow(Math.PI / 4, 2), d[1], 1e-5);
            assertEquals(2 * Math.pow(Math.PI / 2, 2), d[2], 1e-4);
            assertEquals(new Shape(3, 2), ClipLoss.sphericalDistance(img, m.create(new float[] {1, 0, 0, 0, 1, 0}, new Shape(2, 3))).getShape());
        }
    }

    @Test
    void augmentIdentityAndFlipAreExact() {
        try (NDManager m = manager.newSubManager()) {
            NDArray img = m.randomNormal(new Shape(2, 3, 224, 224));
            NDArray same = ClipAugment.apply(img, ClipAugment.Params.identity(224, 224), 224);
            assertEquals(0f, maxAbs(same.sub(img)));
            NDArray flipped = ClipAugment.apply(img, new ClipAugment.Params(0, 0, 224, 224, 0, true), 224);
            assertEquals(0f, maxAbs(flipped.sub(img.flip(3))));
            // a crop of the top-left 112x112 upsampled 2x: output pixel (2i+1/2 ...) of a linear ramp stays linear
            NDArray ramp = m.arange(0f, 224f).reshape(1, 1, 1, 224).broadcast(1, 3, 224, 224);
            NDArray up = ClipAugment.apply(ramp, new ClipAugment.Params(0, 0, 112, 112, 0, false), 224);
            float[] row = up.get("0, 0, 5, :").toFloatArray();
            for (int x = 1; x < 223; x++) {
                assertEquals(Math.max(0, (x + 0.5) / 2 - 0.5), row[x], 1e-5, "x=" + x); // align_corners=False source coordinate
            }
        }
    }

    @Test
    void augmentedLossIsSeededAndDifferentiable() {
        try (NDManager m = manager.newSubManager()) {
            NDArray image = m.randomUniform(-1f, 1f, new Shape(1, 3, 256, 256));
            ClipLoss a = ClipLoss.builder().setModel(model).optAugment(true).optSeed(7).build();
            ClipLoss b = ClipLoss.builder().setModel(model).optAugment(true).optSeed(7).build();
            float la = a.compute(image, target()).getFloat();
            assertEquals(la, b.compute(image, target()).getFloat(), 0f, "same seed, same cuts");
            float next = a.compute(image, target()).getFloat();
            assertNotEquals(la, next, "the generator advances between calls");
            a.reseed(7);
            assertEquals(la, a.compute(image, target()).getFloat(), 0f, "reseed repeats");

            Random rng = new Random(3);
            ClipAugment aug = ClipAugment.course(224);
            for (int i = 0; i < 50; i++) {
                ClipAugment.Params p = aug.sample(rng, 256, 256);
                assertTrue(p.height() * p.width() >= 0.08 * 256 * 256 * 0.95 && p.top() + p.height() <= 256 && p.left() + p.width() <= 256, p.toString());
                assertTrue(Math.abs(p.angleDegrees()) <= 5, p.toString());
            }

            ClipLoss twoCuts = ClipLoss.builder().setModel(model).optAugment(true).optCuts(2).optSeed(7).build();
            assertEquals(2, twoCuts.getCuts());
            image.setRequiresGradient(true);
            NDArray loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                loss = twoCuts.compute(image, target());
                NativeMemory.collectAndPoison(); // freed memory still read by the graph would show up as NaN
                gc.backward(loss);
            }
            NDArray grad = image.getGradient();
            assertFalse(Float.isNaN(grad.sum().getFloat()));
            assertTrue(maxAbs(grad) > 0, "the gradient reaches the image");
            assertEquals(new Shape(1, 3, 256, 256), grad.getShape());
        }
    }

    /**
     * n_cuts: with the same seed, the loss of k cuts is the mean of the k single-cut losses of the same augmentation
     * draws (the parameters a fresh generator of that seed gives, one draw per cut), and its gradient is the mean of
     * their gradients. The single cuts are built from the public pieces (augment, Normalize, CLIP, distance).
     */
    @Test
    void nCutsLossAndGradientAreTheMeanOfTheSingleCuts() {
        int k = 4;
        long seed = 11;
        try (NDManager m = manager.newSubManager()) {
            NDArray image = new SeededNoise(5).rand(m, new Shape(1, 3, 256, 256)).mul(2).sub(1);   // uniform in [-1, 1]
            ClipLoss loss = ClipLoss.builder().setModel(model).optAugment(true).optCuts(k).optSeed(seed).build();
            NDArray leaf = image.duplicate();
            leaf.setRequiresGradient(true);
            float kCuts;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = loss.compute(leaf, target());
                kCuts = l.getFloat();
                gc.backward(l);
            }
            NDArray kCutsGrad = leaf.getGradient().duplicate();

            Random rng = new Random(seed);
            ClipAugment augment = ClipAugment.course(224);
            double sum = 0;
            NDArray gradSum = m.zeros(image.getShape());
            float[] single = new float[k];
            float[] gradNorm = new float[k];
            for (int c = 0; c < k; c++) {
                ClipAugment.Params p = augment.sample(rng, 256, 256);
                NDArray one = image.duplicate();
                one.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray l = ClipLoss.sphericalDistanceLoss(
                            model.getImageFeatures(ClipLoss.clipNormalize(ClipAugment.apply(one, p, 224))), target());
                    single[c] = l.getFloat();
                    gc.backward(l);
                }
                assertEquals(single[c], loss.cutLoss(image, target(), p).getFloat(), 1e-6f, "cutLoss of draw " + c);
                gradNorm[c] = one.getGradient().norm().getFloat();
                gradSum = gradSum.add(one.getGradient());
                sum += single[c];
            }
            System.out.printf("n_cuts %d: loss %.7f, single cuts %s, their mean %.7f; single-cut gradient norms %s%n", k,
                    kCuts, java.util.Arrays.toString(single), sum / k, java.util.Arrays.toString(gradNorm));
            float spread = 0;
            for (float a : single) {
                spread = Math.max(spread, Math.abs(a - single[0]));
            }
            assertTrue(spread > 1e-3f, "the cuts differ (else the mean proves nothing): spread " + spread);
            assertEquals(sum / k, kCuts, 1e-6, "loss of " + k + " cuts = mean of the single cuts");
            assertRelClose(gradSum.div(k), kCutsGrad, "gradient of " + k + " cuts = mean of the single-cut gradients");
        }
    }

    @Test
    void textFeaturesOfAPromptEqualReference() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            ClipTokenizer tok = ClipTokenizer.fromPretrained(folder);
            NDArray f = ClipLoss.textFeatures(model, tok, "Red Rose (still life)", m);
            assertTrue(maxAbs(f.sub(target().reshape(1, -1))) <= 1e-4f);
        }
    }
}
