package diffusionkit.demo;

import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The demo's scale on the kit's base model ({@code datasets/models/emoji-base}, the page's default 40 steps): the
 * default 3 and the course's two examples visibly pull the image's mean colour towards the target, 30 makes it
 * the colour. (The numbers in {@link ColorGuidedGenerator}'s javadoc come from the same measurement on 4 seeds.)
 */
class ColorGuidedGeneratorTest {

    static NDManager manager;
    static DiffusionPipeline pipe;
    static ColorGuidedGenerator generator;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        pipe = DiffusionPipeline.fromPretrained(Path.of("../datasets/models/emoji-base"), manager);
        generator = new ColorGuidedGenerator(pipe, 256);
    }

    @AfterAll
    static void close() {
        pipe.close();
        manager.close();
    }

    /** The mean colour (RGB 0-255) of the image the page would get for these inputs. */
    static double[] meanColour(String color, double scale, long seed) throws Exception {
        DemoRequest r = DemoRequest.parse(Map.of("color", color, "scale", Double.toString(scale), "seed", Long.toString(seed)));
        BufferedImage img = generator.generate(r, k -> {});
        assertEquals(256, img.getWidth(), "32 pixels enlarged 8 times, no border");
        double[] mean = new double[3];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int v = img.getRGB(x, y);
                mean[0] += (v >> 16) & 255;
                mean[1] += (v >> 8) & 255;
                mean[2] += v & 255;
            }
        }
        for (int c = 0; c < 3; c++) {
            mean[c] /= img.getWidth() * img.getHeight();
        }
        return mean;
    }

    /** Euclidean distance between a mean colour and {@code #RRGGBB}. */
    static double distance(double[] mean, String color) {
        float[] t = DemoRequest.parse(Map.of("color", color)).rgb();
        double d = 0;
        for (int c = 0; c < 3; c++) {
            d += (mean[c] - t[c] * 255) * (mean[c] - t[c] * 255);
        }
        return Math.sqrt(d);
    }

    @Test
    void theDefaultScaleAndTheCoursesExamplesTintTheBaseModelsImages() throws Exception {
        StringBuilder report = new StringBuilder();
        for (long seed = 0; seed < 2; seed++) {
            double[] unguided = meanColour("#55FFAA", 0, seed);   // scale 0: the same image for any colour
            double d0 = distance(unguided, "#55FFAA");
            double d3 = distance(meanColour("#55FFAA", 3, seed), "#55FFAA");
            double d30 = distance(meanColour("#55FFAA", 30, seed), "#55FFAA");
            double r0 = distance(unguided, "#BB2266");
            double r3 = distance(meanColour("#BB2266", 3, seed), "#BB2266");
            double t0 = distance(unguided, "#44CCAA");
            double t5 = distance(meanColour("#44CCAA", 5, seed), "#44CCAA");
            report.append(String.format(Locale.ROOT, "seed %d: #55FFAA %.1f -> %.1f (3) -> %.1f (30); #BB2266 %.1f -> %.1f (3);"
                    + " #44CCAA %.1f -> %.1f (5)%n", seed, d0, d3, d30, r0, r3, t0, t5));
            assertTrue(d3 < 0.7 * d0, "the default scale 3 pulls #55FFAA's mean colour in: " + report);
            assertTrue(d30 < 0.2 * d0, "scale 30 makes the image the colour: " + report);
            assertTrue(t5 < 0.6 * t0, "the course's example #44CCAA at 5: " + report);
            assertTrue(r3 < 0.9 * r0, "the course's example #BB2266 at 3: " + report);
        }
        System.out.print(report);
    }
}
