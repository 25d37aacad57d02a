package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.imageio.ImageIO;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

/**
 * Executes the two course notebooks of {@code notebooks/} through the kernel in CI mode ({@code KIT_MODE=ci}: tiny
 * datasets, a few steps, every section still run) and fails on any error output, and on any figure cell without a
 * decodable PNG. The notebooks need the packaged datasets (fetched into datasets/cache on first use).
 */
@Notebooks
class CourseNotebooksTest {

    private static final Path NOTEBOOKS = Path.of(System.getProperty("kernel.notebooksDir", "../../notebooks"));

    @Test
    void finetuningAndGuidance() throws Exception {
        // DDPM grid, x beside x0, DDIM grid, dataset preview, training (live plot), loss plot, before/after, the
        // colour-guided grids (variants 1, 2, orange), classifier guidance, schedules, the demo's image
        check("01_finetuning_and_guidance.ipynb", List.of("c07", "c11", "c13", "c15", "c18", "c20", "c22", "c31",
                "c33", "c35", "c39", "c41", "c45"));
    }

    @Test
    void classConditionedDiffusionModel() throws Exception {
        // dataset preview, schedule plot, live loss, loss plot, 10 x 8 digits, accuracy table (HTML), CFG grids,
        // class-embedding comparison, Fashion-MNIST preview and samples
        List<String> figures = new ArrayList<>(List.of("c04", "c08", "c10", "c12", "c14", "c16", "c20", "c22", "c23"));
        if (Files.isDirectory(NOTEBOOKS.resolve("../datasets/models/mnist-conditional"))) {
            figures.add("c18"); // classifier-free guidance needs the shipped model (it has a null class)
        }
        check("02_class_conditioned_diffusion_model_example.ipynb", figures);
    }

    private static void check(String name, List<String> figureCells) throws Exception {
        Jupyter jupyter = new Jupyter();
        Path source = NOTEBOOKS.resolve(name).toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(source), "notebook not found: " + source);
        Path executed = jupyter.workDir.resolve(name.replace(".ipynb", ".executed.ipynb")).toAbsolutePath();
        Files.deleteIfExists(executed);
        Jupyter.Run run = jupyter.python(List.of("run_course_notebook.py", source.toString(), executed.toString()), 900);
        assertEquals(0, run.exitCode, "nbclient failed on " + name + ":\n" + run.output);
        JsonObject nb = JsonParser.parseString(Files.readString(executed, StandardCharsets.UTF_8)).getAsJsonObject();
        System.out.println(name + " executed in " + nb.getAsJsonObject("metadata").get("executed_in_seconds") + " s");
        List<String> errors = new ArrayList<>();
        List<String> missing = new ArrayList<>(figureCells);
        for (JsonElement c : nb.getAsJsonArray("cells")) {
            JsonObject cell = c.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            String id = cell.get("id").getAsString();
            for (JsonElement o : cell.getAsJsonArray("outputs")) {
                JsonObject out = o.getAsJsonObject();
                String type = out.get("output_type").getAsString();
                if (type.equals("error")) {
                    errors.add(id + ": " + out.get("ename").getAsString() + ": " + out.get("evalue").getAsString());
                } else if (out.has("data") && figure(out.getAsJsonObject("data"))) {
                    missing.remove(id);
                }
            }
        }
        assertTrue(errors.isEmpty(), name + ": error cells " + errors + " (executed copy: " + executed + ")");
        assertTrue(missing.isEmpty(), name + ": cells without their figure " + missing + " (executed copy: " + executed + ")");
    }

    /** A decodable, non-empty PNG, or a Tablesaw table as HTML. */
    private static boolean figure(JsonObject data) throws Exception {
        if (data.has("text/html") && text(data.get("text/html")).contains("<table")) {
            return true;
        }
        if (!data.has("image/png")) {
            return false;
        }
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getMimeDecoder().decode(text(data.get("image/png")))));
        assertNotNull(image, "image/png output does not decode as PNG");
        return image.getWidth() > 8 && image.getHeight() > 8;
    }

    private static String text(JsonElement e) {
        if (e.isJsonArray()) {
            StringBuilder sb = new StringBuilder();
            e.getAsJsonArray().forEach(x -> sb.append(x.getAsString()));
            return sb.toString();
        }
        return e.getAsString();
    }
}
