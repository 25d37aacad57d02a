package diffusionkit.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.schedulers.DDPMScheduler;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The finetune, pretrain and sample commands: help text, clear errors, and a tiny end-to-end run. */
class TrainCommandsTest {

    @TempDir
    static Path dir;
    static Path model16;
    static Path images;

    /** A 16x16 tiny pipeline folder and a folder of eight 16x16 PNGs. */
    @BeforeAll
    static void fixtures() throws IOException {
        model16 = dir.resolve("tiny16");
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(1);
            UNet2DConfig c = UNet2DConfig.fromJson(PretrainCommand.PRESETS.get("tiny"));
            DiffusionPipeline p = new DiffusionPipeline(new UNet2DModel(c, m), new DDPMScheduler());
            p.savePretrained(model16);
            p.close();
        }
        images = dir.resolve("images");
        Files.createDirectories(images);
        for (int i = 0; i < 8; i++) {
            BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, 16, 16);
            g.setColor(new Color(250, 200, 40));
            g.fillOval(2 + i % 3, 2 + i % 2, 11, 11);
            g.dispose();
            ImageIO.write(img, "png", images.resolve("img" + i + ".png").toFile());
        }
    }

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static void assertFails(String expected, String... args) {
        Result r = run(args);
        assertNotEquals(0, r.code(), "should fail: " + String.join(" ", args));
        assertTrue(r.err().contains(expected), "error should say '" + expected + "', got:\n" + r.err());
    }

    @Test
    void helpListsEveryOptionWithItsDefault() {
        for (String cmd : List.of("finetune", "pretrain", "sample")) {
            Result r = run(cmd, "--help");
            assertEquals(0, r.code());
            CommandLine sub = Main.commandLine().getSubcommands().get(cmd);
            for (OptionSpec o : sub.getCommandSpec().options()) {
                if (o.usageHelp() || o.versionHelp()) {
                    continue;
                }
                for (String name : o.names()) {
                    String shown = o.negatable() ? "--[no-]" + name.substring(2) : name;
                    assertTrue(r.out().contains(shown), cmd + " --help lacks " + shown);
                }
                assertTrue(String.join(" ", o.description()).contains("(default: "), cmd + " " + o.longestName()
                        + " does not state its default");
            }
            assertFalse(r.out().contains("${DEFAULT-VALUE}"));
        }
        String ft = run("finetune", "--help").out().replaceAll("\\s+", " ");
        // finetune_model.py's defaults
        for (String s : List.of("--image_size, --image-size", "(default: 256)", "(default: 16)", "(default: 2)",
                "(default: 250)", "(default: 2500)", "(default: 1.0E-5)", "(default: emoji-base)",
                "(default: emoji-twitter)", "(default: auto)")) {
            assertTrue(ft.contains(s), "finetune --help lacks " + s + ":\n" + ft);
        }
        assertTrue(run("pretrain", "--help").out().contains("(default: 1.0E-4)"));
    }

    @Test
    void nonPositiveSizesAreRefused() {
        assertFails("--batch_size must be positive, got 0", "finetune", "--batch_size", "0");
        assertFails("--image_size must be positive, got -8", "finetune", "--image-size", "-8");
        assertFails("--grad_accumulation_steps must be positive", "finetune", "--grad_accumulation_steps", "0");
        assertFails("--num_epochs must be positive", "pretrain", "--num_epochs", "0");
        assertFails("--lr must be positive", "pretrain", "--lr", "0");
        assertFails("--steps must be positive, got 0", "sample", "--steps", "0");
        assertFails("--num_images must be positive", "sample", "--num_images", "-1");
        assertFails("--device 'tpu' is not a device", "finetune", "--device", "tpu", "--start_model",
                model16.toString(), "--image_size", "16");
    }

    @Test
    void unknownDatasetIsRefused() {
        assertFails("unknown dataset 'no-such-set'", "finetune", "--start_model", model16.toString(), "--image_size", "16",
                "--dataset_name", "no-such-set");
        assertFails("--classes: 'Planets' is not a class", "pretrain", "--config", "tiny", "--dataset_name",
                images.toString(), "--classes", "Planets");
    }

    @Test
    void imageSizeMustMatchTheModel() {
        assertFails("was trained at 16x16 pixels (sample_size 16). Pass --image_size 16", "finetune", "--start_model",
                model16.toString(), "--image_size", "32", "--dataset_name", images.toString());
        // the default 256 of finetune_model.py does not fit the kit's 32-pixel models either
        assertFails("Pass --image_size 16", "finetune", "--start_model", model16.toString());
    }

    @Test
    void startModelWithoutWeightsIsRefused() throws IOException {
        Path noWeights = dir.resolve("no-weights");
        Files.createDirectories(noWeights.resolve("unet"));
        Files.copy(model16.resolve("model_index.json"), noWeights.resolve("model_index.json"));
        Files.copy(model16.resolve("unet/config.json"), noWeights.resolve("unet/config.json"));
        assertFails("has no weights (diffusion_pytorch_model.safetensors, or the older diffusion_pytorch_model.bin)", "finetune", "--start_model",
                noWeights.toString(), "--image_size", "16");
        assertFails("is neither a folder, a kit model nor a hub id", "finetune", "--start_model", "no-such-model");
        assertFails("is neither a preset", "pretrain", "--config", "no-such-config");
    }

    @Test
    void pretrainFinetuneAndSampleEndToEnd() throws IOException {
        Path pre = dir.resolve("pre");
        Result r = run("pretrain", "--config", "tiny", "--dataset_name", images.toString(), "--batch_size", "4",
                "--grad_accumulation_steps", "1", "--max_steps", "2", "--log_dir", pre.toString(), "--model_save_name",
                pre.resolve("model").toString(), "--log_samples_every", "0", "--no-progress", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(pre.resolve("model/unet/diffusion_pytorch_model.safetensors")));
        Path ft = dir.resolve("ft");
        r = run("finetune", "--start_model", pre.resolve("model").toString(), "--image_size", "16", "--dataset_name",
                images.toString(), "--batch_size", "4", "--grad_accumulation_steps", "1", "--num_epochs", "2",
                "--max_steps", "2", "--save_model_every", "1", "--log_dir",
                ft.toString(), "--model_save_name", ft.resolve("model").toString(), "--log_samples_every", "0",
                "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(ft.resolve("loss.csv")));
        assertEquals(3, Files.readAllLines(ft.resolve("loss.csv")).size()); // header + 2 steps
        assertTrue(Files.isDirectory(ft.resolve("checkpoints/checkpoint-2")));
        // --resume continues from the newest checkpoint, up to a higher --max_steps
        r = run("finetune", "--start_model", pre.resolve("model").toString(), "--image_size", "16", "--dataset_name",
                images.toString(), "--batch_size", "4", "--grad_accumulation_steps", "1", "--num_epochs", "2",
                "--max_steps", "3", "--log_dir", ft.toString(), "--model_save_name",
                ft.resolve("model").toString(), "--log_samples_every", "0", "--save_model_every", "0", "--no-progress",
                "--resume");
        assertEquals(0, r.code(), r.err());
        assertEquals(4, Files.readAllLines(ft.resolve("loss.csv")).size());
        Path png = dir.resolve("grid.png");
        r = run("sample", "--model", ft.resolve("model").toString(), "--num_images", "2", "--steps", "2", "--nrow", "2",
                "--upscale", "1", "--output", png.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage grid = ImageIO.read(png.toFile());
        assertEquals(2 * 16 + 3 * 2, grid.getWidth()); // two 16-pixel images with 2-pixel padding
    }
}
