package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Notebooks written for IJava, run with nbclient over the Jupyter protocol (src/test/resources/kernel/ijava):
 * {@code %load} of a set-up file and of a notebook by bare name, {@code %%loadFromPOM}, {@code %addMavenRepo},
 * IJava's rule for which cells show an {@code Out}; and a value whose {@code toString()} throws an Error, after which
 * the kernel must keep answering (it used to lose its message thread and hang).
 */
@Notebooks
class IJavaCompatibilityTest {

    private static final Path FIXTURES = Path.of("src/test/resources/kernel/ijava").toAbsolutePath();
    private static JsonArray compat;
    private static JsonArray throwing;

    @BeforeAll
    static void execute() throws Exception {
        Jupyter jupyter = new Jupyter();
        String junitVersion = org.junit.jupiter.api.Test.class.getPackage().getImplementationVersion();
        compat = run(jupyter, "ijava-compat.ipynb", junitVersion, Map.of());
        throwing = run(jupyter, "throwing-value.ipynb", junitVersion, Map.of());
        ownVersion = run(jupyter, "own-version.ipynb", junitVersion, Map.of());
        ownMavenVersion = run(jupyter, "own-maven-version.ipynb", junitVersion, Map.of());
        offlineOn = run(jupyter, "djl-offline.ipynb", junitVersion, Map.of("DJL_OFFLINE", "true"));
        offlineOff = run(jupyter, "djl-offline.ipynb", junitVersion, Map.of("DJL_OFFLINE", "false"));
    }

    private static JsonArray ownVersion;
    private static JsonArray ownMavenVersion;
    private static JsonArray offlineOn;
    private static JsonArray offlineOff;

    /** A stand-in for another version of a library the kernel carries: a jar with its own com.google.gson.Gson. */
    static Path fakeGson(Path dir) throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/com/google/gson"));
        Files.writeString(src.resolve("Gson.java"), "package com.google.gson;\n"
                + "public class Gson { public String version() { return \"2.0-fake\"; } }\n");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        assertEquals(0, javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, "--release", "17", "-d",
                classes.toString(), src.resolve("Gson.java").toString()), "javac Gson.java");
        Path jar = dir.resolve("gson-2.0-fake.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.jar.JarEntry("com/google/gson/Gson.class"));
            out.write(Files.readAllBytes(classes.resolve("com/google/gson/Gson.class")));
            out.closeEntry();
        }
        return jar;
    }

    /** The fixture POM with this build's JUnit version, for %loadFromPOM FILE. */
    static Path pom(Path dir, String junitVersion) throws Exception {
        Path pom = dir.resolve("fixture-pom.xml").toAbsolutePath();
        Files.writeString(pom, Files.readString(FIXTURES.resolve("pom.xml")).replace("@JUNIT_VERSION@", junitVersion));
        return pom;
    }

    private static JsonArray run(Jupyter jupyter, String name, String junitVersion, Map<String, String> env)
            throws Exception {
        Path source = jupyter.workDir.resolve(name).toAbsolutePath();
        Path junitJar = Path.of(org.junit.jupiter.api.Test.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Files.writeString(source, Files.readString(FIXTURES.resolve(name))
                .replace("@FIXTURES@", FIXTURES.toString()).replace("@JUNIT_VERSION@", junitVersion)
                .replace("@JUNIT_JAR@", junitJar.toString())
                .replace("@FAKE_GSON@", fakeGson(jupyter.workDir.resolve("fake-gson").toAbsolutePath()).toString())
                .replace("@POM@", pom(jupyter.workDir, junitVersion).toString()));
        Path executed = jupyter.workDir.resolve(name.replace(".ipynb", env.isEmpty() ? "" : "-" + env.hashCode())
                .replace(".ipynb", "") + ".executed.ipynb").toAbsolutePath();
        Files.deleteIfExists(executed);
        Jupyter.Run run = jupyter.python(List.of("run_notebook.py", source.toString(), executed.toString()), 300, env);
        assertEquals(0, run.exitCode, "nbclient failed on " + name + ":\n" + run.output);
        return JsonParser.parseString(Files.readString(executed, StandardCharsets.UTF_8)).getAsJsonObject()
                .getAsJsonArray("cells");
    }

    private static JsonObject cell(JsonArray cells, String id) {
        for (JsonElement c : cells) {
            if (c.getAsJsonObject().get("id").getAsString().equals(id)) {
                return c.getAsJsonObject();
            }
        }
        throw new AssertionError("no cell " + id);
    }

    private static List<JsonObject> outputs(JsonArray cells, String id) {
        List<JsonObject> out = new ArrayList<>();
        cell(cells, id).getAsJsonArray("outputs").forEach(o -> out.add(o.getAsJsonObject()));
        return out;
    }

    private static List<String> types(JsonArray cells, String id) {
        return outputs(cells, id).stream().map(o -> o.get("output_type").getAsString()).toList();
    }

    private static String result(JsonArray cells, String id) {
        for (JsonObject o : outputs(cells, id)) {
            if (o.get("output_type").getAsString().equals("execute_result")) {
                JsonElement t = o.getAsJsonObject("data").get("text/plain");
                StringBuilder sb = new StringBuilder();
                if (t.isJsonArray()) {
                    t.getAsJsonArray().forEach(x -> sb.append(x.getAsString()));
                } else {
                    sb.append(t.getAsString());
                }
                return sb.toString();
            }
        }
        throw new AssertionError("cell " + id + " has no Out: " + outputs(cells, id));
    }

    @Test
    void anIJavaNotebookRunsUnchangedToItsLastCell() {
        for (JsonElement c : compat) {
            JsonObject cell = c.getAsJsonObject();
            if (cell.get("cell_type").getAsString().equals("code")) {
                String id = cell.get("id").getAsString();
                assertTrue(!types(compat, id).contains("error"), "cell " + id + " failed: " + outputs(compat, id));
                assertTrue(!cell.get("execution_count").isJsonNull(), "cell " + id + " ran");
            }
        }
    }

    @Test
    void loadFindsASetUpFileAndANotebookByBareName() {
        assertEquals("hello from setup.jsh, helpers.ipynb ran, twice(21) = 42", result(compat, "loaded"));
        assertEquals(List.of(), types(compat, "load-jsh").stream().filter(t -> t.equals("execute_result")).toList(),
                "%load shows nothing, as in IJava");
    }

    @Test
    void loadFromPomResolvesAPastedDependency() {
        assertEquals("Assertions", result(compat, "from-pom"));
        assertEquals("ParameterizedTest", result(compat, "from-pom-file"), "%loadFromPOM FILE, its test scope left out");
        assertEquals(List.of("stream"), types(compat, "pom"), "it says what it added, and shows no Out");
    }

    @Test
    void assignmentsAndDeclarationsShowNoOutAsInIJava() {
        assertEquals(List.of(), types(compat, "declare"));
        assertEquals(List.of(), types(compat, "assign"));
        assertEquals("6", result(compat, "value"));
        assertEquals(List.of(), types(compat, "null-value"), "a null value shows nothing, as in IJava");
        assertEquals(List.of(), types(compat, "repo"));
    }

    @Test
    void aNotebookRegistersARendererThroughIJavasApi() {
        JsonObject out = outputs(compat, "figure").stream()
                .filter(o -> o.get("output_type").getAsString().equals("execute_result")).findFirst().orElseThrow();
        JsonElement html = out.getAsJsonObject("data").get("text/html");
        assertEquals("<div class=\"figure\">loss</div>", html.isJsonArray() ? html.getAsJsonArray().get(0).getAsString()
                : html.getAsString());
    }

    @Test
    void magicsAreValuesAndEvalRunsCodeFromACell() {
        String jar = Path.of(org.junit.jupiter.api.Test.class.getProtectionDomain().getCodeSource().getLocation()
                .getPath()).getFileName().toString();
        assertEquals("1 jar: " + jar, result(compat, "magic-value"));
        assertEquals("42", result(compat, "eval"));
        assertEquals("true", result(compat, "line-magic"));
    }

    @Test
    void aValueWhoseToStringThrowsIsAnErrorAndTheKernelGoesOn() {
        assertEquals(List.of("error"), types(throwing, "throwing"));
        JsonObject error = outputs(throwing, "throwing").get(0);
        assertTrue(error.get("evalue").getAsString().contains("could not be shown")
                && error.get("evalue").getAsString().contains("AbstractMethodError"), error.toString());
        assertEquals("still answering", result(throwing, "after"));
        assertEquals(List.of("error"), types(throwing, "render-throws"));
        assertEquals("2", result(throwing, "after-2"));
        Duration answer = answerTime(cell(throwing, "after"));
        assertTrue(answer.compareTo(Duration.ofSeconds(1)) < 0, "the next cell answered in " + answer);
    }

    @Test
    void anotherVersionOfALibraryTheKernelCarriesIsSaidToBeShadowed() {
        String kernelGson = result(compat, "which-gson");
        assertTrue(kernelGson.startsWith("gson-") && !kernelGson.equals("gson-2.0-fake.jar"), kernelGson);
        String err = outputs(compat, "shadowed").stream()
                .filter(o -> o.get("output_type").getAsString().equals("stream") && o.get("name").getAsString().equals("stderr"))
                .map(o -> o.get("text").isJsonArray() ? String.join("", new com.google.gson.Gson().fromJson(o.get("text"),
                        String[].class)) : o.get("text").getAsString())
                .findFirst().orElseThrow(() -> new AssertionError("no warning: " + outputs(compat, "shadowed")));
        assertTrue(err.contains("1 of the 1 jar(s) added are shadowed") && err.contains("gson-2.0-fake.jar by " + kernelGson)
                && err.contains("IJava or JJava"), err);
    }

    @Test
    void aNotebookThatAsksFirstForAnotherVersionGetsIt() {
        assertTrue(types(ownVersion, "own-version").stream().allMatch(t -> t.equals("stream")),
                "no error: " + outputs(ownVersion, "own-version"));
        String said = outputs(ownVersion, "own-version").toString();
        assertTrue(said.contains("the notebook's versions come first: gson-2.0-fake.jar before the kernel's gson-"), said);
        assertEquals("2.0-fake", result(ownVersion, "use-it"), "code written for the notebook's version compiles and runs");
        assertEquals("6", result(ownVersion, "kit-still-there"), "the kit's libraries are still there");
        assertEquals("image 3x2", result(ownVersion, "image"), "and the kernel still renders");
        // %maven of another version of a real library: the class comes from the version asked for
        assertEquals("gson-2.10.1.jar", result(ownMavenVersion, "which"));
        assertTrue(outputs(ownMavenVersion, "maven-version").toString().contains("the notebook's versions come first"),
                outputs(ownMavenVersion, "maven-version").toString());
    }

    @Test
    void djlsOfflineSwitchIsASettingOfTheKernelsEnvironment() {
        assertEquals("true", result(offlineOn, "offline"));
        assertEquals("false", result(offlineOff, "offline"));
    }

    /** From the kernel's receipt of the request to its reply (nbclient's timing metadata). */
    private static Duration answerTime(JsonObject cell) {
        JsonObject timing = cell.getAsJsonObject("metadata").getAsJsonObject("execution");
        OffsetDateTime start = OffsetDateTime.parse(timing.get("iopub.execute_input").getAsString());
        OffsetDateTime end = OffsetDateTime.parse(timing.get("shell.execute_reply").getAsString());
        return Duration.between(start, end);
    }
}
