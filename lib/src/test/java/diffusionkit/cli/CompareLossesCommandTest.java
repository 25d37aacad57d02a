package diffusionkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/** {@code ./kit compare-losses}: two runs' loss.csv in one PNG; bad arguments name the fix. */
class CompareLossesCommandTest {

    @Test
    void plotsTwoRunsAndRefusesBadArguments(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.csv");
        Path b = dir.resolve("b.csv");
        Files.writeString(a, "step,epoch,loss,lr\n1,0,0.9,1e-4\n2,0,0.5,1e-4\n3,0,0.3,1e-4\n");
        Files.writeString(b, "step,epoch,loss,lr\n1,0,1.2,1e-4\n2,0,1.1,1e-4\n3,0,0.9,1e-4\n");
        Path png = dir.resolve("out.png");
        TrainCommandsTest.Result r = TrainCommandsTest.run("compare-losses", "--output", png.toString(), "--window", "2",
                "fine-tune=" + a, "scratch=" + b);
        assertEquals(0, r.code(), r.err());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(700, img.getWidth());
        assertEquals(400, img.getHeight());
        TrainCommandsTest.assertFails("is not LABEL=path/to/loss.csv", "compare-losses", "--output", png.toString(), a.toString());
        TrainCommandsTest.assertFails("--window must be >= 1", "compare-losses", "--output", png.toString(), "--window", "0",
                "x=" + a);
        Files.writeString(b, "step,epoch,lr\n1,0,1e-4\n");
        Path missing = dir.resolve("none.png");
        TrainCommandsTest.Result bad = TrainCommandsTest.run("compare-losses", "--output", missing.toString(), "x=" + b);
        assertTrue(bad.code() != 0 && bad.err().contains("has no 'loss' column"), bad.err());
    }
}
