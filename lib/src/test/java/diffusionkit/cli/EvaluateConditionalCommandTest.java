package diffusionkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import diffusionkit.data.KitHome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/** {@code ./kit evaluate-conditional} on the shipped model: one table per guidance scale, and the grids. */
class EvaluateConditionalCommandTest {

    @Test
    void judgesTheShippedModelAtTwoScales(@TempDir Path dir) throws Exception {
        Path models = KitHome.find().resolve("datasets/models");
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try (PrintStream capture = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            code = Main.commandLine().execute("evaluate-conditional", "--model", models.resolve("mnist-conditional").toString(),
                    "--classifier", models.resolve("mnist-classifier").toString(), "--per-class", "2", "--steps", "20",
                    "--guidance", "1,3", "--png", dir.resolve("eval").toString());
        } finally {
            System.setOut(old);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("guidance w = 1") && text.contains("guidance w = 3"), text);
        // the card measures 8 per digit at 50 steps; 2 per digit at 20 steps still names most digits right
        java.util.regex.Matcher acc = java.util.regex.Pattern.compile("accuracy (\\d\\.\\d{4}) \\(w = 3").matcher(text);
        assertTrue(acc.find() && Double.parseDouble(acc.group(1)) >= 0.8, text);
        BufferedImage grid = ImageIO.read(dir.resolve("eval_w3.png").toFile());
        assertEquals(2 * (2 + 2 * (28 + 2)), grid.getWidth(), "2 per row, 28-pixel digits shown twice as large");
    }
}
