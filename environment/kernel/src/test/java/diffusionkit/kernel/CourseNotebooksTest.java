package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * decodable PNG (or a table as HTML). Figure cells are the code cells tagged {@value #FIGURE_TAG} in their metadata
 * (Jupyter's {@code "tags": ["figure"]}); one whose figure needs a model that may be absent names its folder, relative
 * to the repository, in {@code "diffusionkit": {"figure_needs": "datasets/models/..."}} and must show its figure only
 * when that folder exists. A notebook without a figure cell fails. The notebooks need the packaged datasets (fetched
 * into datasets/cache on first use).
 */
@Notebooks
class CourseNotebooksTest {

    /** The cell tag that marks a code cell which must show a figure. */
    static final String FIGURE_TAG = "figure";

    private static final Path NOTEBOOKS = Path.of(System.getProperty("kernel.notebooksDir", "../../notebooks"));

    @Test
    void finetuningAndGuidance() throws Exception {
        check("01_finetuning_and_guidance.ipynb");
    }

    @Test
    void classConditionedDiffusionModel() throws Exception {
        check("02_class_conditioned_diffusion_model_example.ipynb");
    }

    /**
     * Each notebook has 2 to 4 exercises, and each is an exercise cell (the learner's placeholder, {@code null}, so that
     * a run uses the solution), a solution cell collapsed in Jupyter ({@code "jupyter": {"source_hidden": true}}) that
     * fills in the placeholder when it is null, and a check cell: the executions above run every check on the
     * reference solution.
     */
    @Test
    void everyExerciseHasAHiddenSolutionAndACheck() throws Exception {
        for (String name : List.of("01_finetuning_and_guidance.ipynb", "02_class_conditioned_diffusion_model_example.ipynb")) {
            JsonObject nb = JsonParser.parseString(Files.readString(NOTEBOOKS.resolve(name), StandardCharsets.UTF_8)).getAsJsonObject();
            List<JsonObject> cells = new ArrayList<>();
            nb.getAsJsonArray("cells").forEach(c -> cells.add(c.getAsJsonObject()));
            int exercises = 0;
            for (int i = 0; i < cells.size(); i++) {
                JsonObject m = cells.get(i).getAsJsonObject("metadata");
                if (!tagged(m, "exercise")) {
                    continue;
                }
                exercises++;
                String id = cells.get(i).get("id").getAsString();
                String source = text(cells.get(i).get("source"));
                assertTrue(source.contains("= null;"), name + " " + id + ": an exercise cell leaves its placeholder null");
                assertTrue(i + 2 < cells.size(), name + " " + id + ": an exercise needs a solution and a check after it");
                JsonObject solution = cells.get(i + 1).getAsJsonObject("metadata");
                assertTrue(tagged(solution, "solution"), name + " " + id + ": the next cell must be tagged solution");
                assertTrue(solution.has("jupyter") && solution.getAsJsonObject("jupyter").has("source_hidden")
                        && solution.getAsJsonObject("jupyter").get("source_hidden").getAsBoolean(),
                        name + " " + id + ": the solution cell must be collapsed (\"jupyter\": {\"source_hidden\": true})");
                assertTrue(text(cells.get(i + 1).get("source")).contains("== null"), name + " " + id
                        + ": the solution fills in the placeholder only when the learner left it null");
                assertTrue(tagged(cells.get(i + 2).getAsJsonObject("metadata"), "check"), name + " " + id
                        + ": the cell after the solution must be its check (tagged check)");
            }
            assertTrue(exercises >= 2 && exercises <= 4, name + ": " + exercises + " exercises, expected 2 to 4");
        }
    }

    private static void check(String name) throws Exception {
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
        List<String> marked = new ArrayList<>();
        List<String> missing = new ArrayList<>(); // the figure cells that must show their figure, until they do
        for (JsonElement c : nb.getAsJsonArray("cells")) {
            JsonObject cell = c.getAsJsonObject();
            if (!cell.get("cell_type").getAsString().equals("code")) {
                continue;
            }
            String id = cell.get("id").getAsString();
            JsonObject metadata = cell.has("metadata") ? cell.getAsJsonObject("metadata") : new JsonObject();
            if (tagged(metadata, FIGURE_TAG)) {
                marked.add(id);
                if (figureExpected(name, id, metadata)) {
                    missing.add(id);
                }
            }
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
        assertFalse(marked.isEmpty(), name + ": no code cell is tagged \"" + FIGURE_TAG + "\": add \"tags\": [\""
                + FIGURE_TAG + "\"] to the metadata of the cells that must show a figure");
        System.out.println(name + ": figure cells " + marked);
        assertTrue(errors.isEmpty(), name + ": error cells " + errors + " (executed copy: " + executed + ")");
        assertTrue(missing.isEmpty(), name + ": cells without their figure " + missing + " (executed copy: " + executed + ")");
    }

    /** Whether the cell metadata's Jupyter tags contain {@code tag}. */
    private static boolean tagged(JsonObject metadata, String tag) {
        if (!metadata.has("tags")) {
            return false;
        }
        for (JsonElement t : metadata.getAsJsonArray("tags")) {
            if (t.getAsString().equals(tag)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a figure cell must show its figure: always, unless the folder its metadata names is absent. */
    private static boolean figureExpected(String name, String id, JsonObject metadata) {
        JsonObject kit = metadata.has("diffusionkit") ? metadata.getAsJsonObject("diffusionkit") : null;
        if (kit == null || !kit.has("figure_needs")) {
            return true;
        }
        String needs = kit.get("figure_needs").getAsString();
        Path folder = Path.of(needs);
        assertTrue(!needs.isBlank() && !folder.isAbsolute(), name + " cell " + id + ": figure_needs must be a folder "
                + "relative to the repository, such as datasets/models/mnist-conditional, not '" + needs + "'");
        return Files.isDirectory(NOTEBOOKS.resolve("..").resolve(folder));
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
