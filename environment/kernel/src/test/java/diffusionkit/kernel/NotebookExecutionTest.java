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

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Executes src/test/resources/kernel/kernel-test.ipynb with nbclient (errors allowed, the endless-loop cell
 * interrupted on a short timeout) and checks each cell's outputs against what the cell computes.
 */
@Notebooks
class NotebookExecutionTest {

    private static JsonArray cells;
    private static Path extra;

    /**
     * Compiles {@code kittest.FromJar} into {@code dir/jars/extra.jar} and {@code kittest.FromFolder} into
     * {@code dir/classes}: classes that exist nowhere else, for the {@code %jars} and {@code %classpath} cells.
     */
    static Path buildExtraClasses(Path dir) throws Exception {
        if (Files.exists(dir)) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Path src = Files.createDirectories(dir.resolve("src/kittest"));
        Files.writeString(src.resolve("FromJar.java"), "package kittest;\n"
                + "public class FromJar { public static String greet(String who) { return \"hello \" + who"
                + " + \" from a jar\"; } }\n");
        Files.writeString(src.resolve("FromFolder.java"), "package kittest;\n"
                + "public class FromFolder { private final int n; public FromFolder(int n) { this.n = n; }"
                + " public int times(int k) { return n * k; } }\n");
        Path jarClasses = Files.createDirectories(dir.resolve("jar-classes"));
        Path classes = Files.createDirectories(dir.resolve("classes"));
        javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
        assertEquals(0, javac.run(null, null, null, "--release", "17", "-d", jarClasses.toString(),
                src.resolve("FromJar.java").toString()), "javac FromJar.java");
        assertEquals(0, javac.run(null, null, null, "--release", "17", "-d", classes.toString(),
                src.resolve("FromFolder.java").toString()), "javac FromFolder.java");
        Path jar = Files.createDirectories(dir.resolve("jars")).resolve("extra.jar");
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.putNextEntry(new java.util.jar.JarEntry("kittest/FromJar.class"));
            out.write(Files.readAllBytes(jarClasses.resolve("kittest/FromJar.class")));
            out.closeEntry();
        }
        return dir;
    }

    @BeforeAll
    static void execute() throws Exception {
        Jupyter jupyter = new Jupyter();
        // %maven fetches a jar that is in ~/.m2 (the tests use it) but not on the kernel's class path
        String junitVersion = org.junit.jupiter.api.Test.class.getPackage().getImplementationVersion();
        // %jars and %classpath add a jar and a classes folder that this test compiles now
        extra = buildExtraClasses(jupyter.workDir.resolve("extra").toAbsolutePath());
        Path source = jupyter.workDir.resolve("kernel-test.ipynb").toAbsolutePath();
        Files.writeString(source, Files.readString(Path.of("src/test/resources/kernel/kernel-test.ipynb"))
                .replace("@JUNIT_VERSION@", junitVersion)
                .replace("@EXTRA@", extra.toString()));
        Path executed = jupyter.workDir.resolve("kernel-test.executed.ipynb").toAbsolutePath();
        Files.deleteIfExists(executed);
        Jupyter.Run run = jupyter.python(List.of("run_notebook.py", source.toString(), executed.toString()), 400);
        assertEquals(0, run.exitCode, "nbclient failed:\n" + run.output);
        JsonObject nb = JsonParser.parseString(Files.readString(executed, StandardCharsets.UTF_8)).getAsJsonObject();
        System.out.println("notebook executed in " + nb.getAsJsonObject("metadata").get("executed_in_seconds") + " s");
        cells = nb.getAsJsonArray("cells");
    }

    private static List<JsonObject> outputs(String id) {
        for (JsonElement c : cells) {
            JsonObject cell = c.getAsJsonObject();
            if (cell.has("id") && cell.get("id").getAsString().equals(id)) {
                List<JsonObject> list = new ArrayList<>();
                cell.getAsJsonArray("outputs").forEach(o -> list.add(o.getAsJsonObject()));
                return list;
            }
        }
        throw new AssertionError("no cell with id " + id + " in the test notebook");
    }

    private static JsonObject only(String id, String outputType) {
        List<JsonObject> found = new ArrayList<>();
        for (JsonObject o : outputs(id)) {
            if (o.get("output_type").getAsString().equals(outputType)) {
                found.add(o);
            }
        }
        assertEquals(1, found.size(), "cell " + id + ": one " + outputType + " output expected, got " + outputs(id));
        return found.get(0);
    }

    private static String text(JsonElement e) {
        if (e.isJsonArray()) {
            StringBuilder sb = new StringBuilder();
            e.getAsJsonArray().forEach(x -> sb.append(x.getAsString()));
            return sb.toString();
        }
        return e.getAsString();
    }

    private static BufferedImage png(String id) throws Exception {
        JsonObject data = only(id, "execute_result").getAsJsonObject("data");
        assertTrue(data.has("image/png"), "cell " + id + " has no image/png: " + data.keySet());
        byte[] bytes = Base64.getMimeDecoder().decode(text(data.get("image/png")));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
        assertNotNull(image, "cell " + id + ": image/png does not decode as PNG");
        return image;
    }

    @Test
    void stdoutIsAStream() {
        JsonObject stream = only("stdout", "stream");
        assertEquals("stdout", stream.get("name").getAsString());
        assertEquals("hello from stdout\n", text(stream.get("text")));
    }

    @Test
    void trailingExpressionIsTheResult() {
        assertEquals("42", text(only("result", "execute_result").getAsJsonObject("data").get("text/plain")));
    }

    @Test
    void bufferedImageIsAPng() throws Exception {
        BufferedImage image = png("image");
        assertEquals(8, image.getWidth());
        assertEquals(6, image.getHeight());
        assertEquals(0xFF0000, image.getRGB(1, 2) & 0xFFFFFF, "the red pixel the cell set");
        assertEquals(0x000000, image.getRGB(0, 0) & 0xFFFFFF);
    }

    @Test
    void xchartIsAPng() throws Exception {
        BufferedImage image = png("chart");
        assertEquals(320, image.getWidth());
        assertEquals(200, image.getHeight());
    }

    @Test
    void tablesawTableIsHtml() {
        JsonObject data = only("table", "execute_result").getAsJsonObject("data");
        String html = text(data.get("text/html"));
        assertTrue(html.contains("<th>name</th><th>score</th>"), html);
        assertTrue(html.contains("<td>&lt;bob&gt;</td><td>5</td>"), "escaped cell values: " + html);
        assertTrue(html.contains("2 rows"), html);
        assertTrue(text(data.get("text/plain")).contains("ada"));
    }

    @Test
    void updateDisplayReplacesTheDisplayedValue() {
        JsonObject display = only("display", "display_data");
        assertEquals("step 2 of 2", text(display.getAsJsonObject("data").get("text/plain")));
    }

    @Test
    void mavenMagicAddsAJarWithItsDependencies() {
        assertEquals("Assertions", text(only("maven", "execute_result").getAsJsonObject("data").get("text/plain")));
    }

    @Test
    void mavenMagicBringsTheTransitiveDependencies() throws Exception {
        // junit-jupiter-api with opentest4j, junit-platform-commons and apiguardian-api, all from the local repository
        assertEquals("%maven: added 4 jar(s) for org.junit.jupiter:junit-jupiter-api:"
                        + org.junit.jupiter.api.Test.class.getPackage().getImplementationVersion() + "\n",
                text(only("maven", "stream").get("text")));
        String kernelClasspath = Files.readString(Path.of(System.getProperty("kernel.classpathFile",
                "target/kernel-runtime.classpath")));
        assertFalse(kernelClasspath.contains("opentest4j"), "opentest4j must come from %maven, not the kernel");
        // the same opentest4j jar as this test's own class path (both resolved by Maven from the local repository)
        String jar = Path.of(org.opentest4j.AssertionFailedError.class.getProtectionDomain().getCodeSource()
                .getLocation().toURI()).getFileName().toString();
        assertEquals("1/2 from " + jar, result("maven-dependency"));
    }

    @Test
    void jarsMagicAddsAJarForTheNextCell() {
        assertEquals("%jars: added 1 path(s)\n", text(only("jars", "stream").get("text")));
        assertEquals("hello cell from a jar @ extra.jar", result("jars-use"));
    }

    @Test
    void classpathMagicAddsAClassesFolderForTheNextCell() {
        assertEquals("%classpath: added 1 path(s)\n", text(only("classpath", "stream").get("text")));
        assertEquals("42 @ classes", result("classpath-use"));
        List<String> listed = List.of(result("classpath-list").split("\n"));
        assertTrue(listed.contains(extra.resolve("jars/extra.jar").toString()), "%classpath lists the jar: " + listed);
        assertTrue(listed.contains(extra.resolve("classes").toString()), "%classpath lists the folder: " + listed);
    }

    private static String result(String id) {
        return text(only(id, "execute_result").getAsJsonObject("data").get("text/plain"));
    }

    @Test
    void loadMagicRunsAFileOfSnippets() {
        assertEquals("from snippets.jsh: 42",
                text(only("load", "execute_result").getAsJsonObject("data").get("text/plain")));
    }

    @Test
    void exceptionIsAnErrorNamingTheLine() {
        JsonObject error = only("error", "error");
        assertEquals("NumberFormatException", error.get("ename").getAsString());
        assertEquals("For input string: \"not a number\"", error.get("evalue").getAsString());
        String traceback = text(error.get("traceback"));
        assertTrue(traceback.contains("line 2)"), "the trace names line 2 of the cell: " + traceback);
    }

    @Test
    void compileErrorIsAnErrorNamingTheLine() {
        JsonObject error = only("compile-error", "error");
        assertEquals("CompilationException", error.get("ename").getAsString());
        assertTrue(error.get("evalue").getAsString().startsWith("line 2: cannot find symbol"),
                error.get("evalue").getAsString());
        assertTrue(text(error.get("traceback")).contains("undefinedName"));
    }

    @Test
    void systemExitIsRefused() {
        assertEquals("SecurityException", only("exit", "error").get("ename").getAsString());
    }

    @Test
    void endlessLoopIsInterruptedAndTheKernelGoesOn() {
        assertEquals("InterruptedException", only("interrupt", "error").get("ename").getAsString());
        assertEquals("alive after interrupt, answer=20, spun=true",
                text(only("after", "execute_result").getAsJsonObject("data").get("text/plain")));
    }
}
