package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Magic lines: recognising them, splitting arguments, globbing paths, adding them to the class path. */
class MagicsTest {

    /** A host that records what the magics ask for. */
    private static final class Recorder implements Magics.Host {
        final List<Path> added = new ArrayList<>();
        final List<String> evaluated = new ArrayList<>();

        @Override
        public void addToClasspath(Path path) {
            added.add(path);
        }

        @Override
        public List<String> classpath() {
            return List.of("a.jar", "b.jar");
        }

        @Override
        public Object evalCell(String code) {
            evaluated.add(code.strip());
            return "evaluated: " + code.strip();
        }
    }

    @Test
    void recognisesLineMagicsOnly() {
        assertTrue(Magics.isMagicLine("%maven a:b:1"));
        assertTrue(Magics.isMagicLine("   %jars x.jar"));
        assertFalse(Magics.isMagicLine("int x = 10 % 3;"));
        assertFalse(Magics.isMagicLine("% 3"));
        assertFalse(Magics.isMagicLine("%%bash"));
        assertTrue(Magics.isCellMagic("%%bash\nls"));
    }

    @Test
    void splitsArgumentsWithQuotes() {
        assertEquals(List.of("jars", "a b.jar", "c.jar"), Magics.split("jars \"a b.jar\" c.jar"));
    }

    @Test
    void jarsExpandsGlobs(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("lib/sub"));
        Files.writeString(dir.resolve("lib/one.jar"), "");
        Files.writeString(dir.resolve("lib/two.jar"), "");
        Files.writeString(dir.resolve("lib/notes.txt"), "");
        Files.writeString(dir.resolve("lib/sub/three.jar"), "");
        Recorder host = new Recorder();
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        new Magics(host).run("%jars " + dir + "/lib/*.jar", log);
        assertEquals(List.of(dir.resolve("lib/one.jar"), dir.resolve("lib/two.jar")), host.added);
        host.added.clear();
        new Magics(host).run("%addJars " + dir + "/lib/**.jar", log);
        assertEquals(3, host.added.size(), "** crosses folders: " + host.added);
    }

    @Test
    void classpathWithoutArgumentsListsIt() throws Exception {
        assertEquals("a.jar\nb.jar", new Magics(new Recorder()).run("%classpath", System.out));
    }

    @Test
    void loadEvaluatesTheFileAndShowsNothingAsIJava(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("s.jsh");
        Files.writeString(file, "int x = 1;\n");
        Recorder host = new Recorder();
        assertNull(new Magics(host).run("%load " + file, System.out));
        assertEquals(List.of("int x = 1;"), host.evaluated);
    }

    @Test
    void loadFindsTheFileAsIJavaDoes(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.jshell"), "int a = 1;");
        Files.writeString(dir.resolve("b.java"), "int b = 2;");
        Files.writeString(dir.resolve("c.ijava"), "int c = 3;");
        Files.writeString(dir.resolve("d.jsh"), "int d = 4;");
        Files.writeString(dir.resolve("d.java"), "int notThisOne = 0;"); // .jsh comes first
        Files.writeString(dir.resolve("nb.ipynb"), "{\"cells\": ["
                + "{\"cell_type\": \"markdown\", \"source\": [\"# title\"]},"
                + "{\"cell_type\": \"code\", \"source\": [\"int e = 5;\\n\", \"int f = 6;\"]},"
                + "{\"cell_type\": \"code\", \"source\": \"%jars x.jar\"},"
                + "{\"cell_type\": \"code\", \"source\": []}], \"nbformat\": 4}");
        Recorder host = new Recorder();
        Magics magics = new Magics(host);
        for (String name : List.of("a", "b", "c", "d", "nb", "nb.ipynb", "d.java")) {
            magics.run("%load " + dir.resolve(name), System.out);
        }
        assertEquals(List.of("int a = 1;", "int b = 2;", "int c = 3;", "int d = 4;", "int e = 5;\nint f = 6;",
                "%jars x.jar", "int e = 5;\nint f = 6;", "%jars x.jar", "int notThisOne = 0;"), host.evaluated,
                "each code cell of a notebook runs as a cell, in order; markdown and empty cells do not");
        Exception missing = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> magics.run("%load " + dir.resolve("nope"), System.out));
        assertTrue(missing.getMessage().contains(".jsh, .jshell, .java, .ijava, .ipynb"), missing.getMessage());
    }

    @Test
    void aPomFragmentGivesItsDependenciesAndRepositories() throws Exception {
        String readme = "<repository>\n  <id>snapshots</id>\n  <url>https://example.org/snapshots/</url>\n</repository>\n"
                + "<dependency>\n  <groupId>org.example</groupId>\n  <artifactId>lib</artifactId>\n"
                + "  <version>1.2</version>\n</dependency>\n"
                + "<dependencies><dependency><groupId>org.example</groupId><artifactId>test-only</artifactId>"
                + "<version>3</version><scope>test</scope></dependency>"
                + "<dependency><groupId>org.example</groupId><artifactId>natives</artifactId><version>4</version>"
                + "<classifier>linux-x86_64</classifier><scope>runtime</scope></dependency></dependencies>";
        PomFragment pom = PomFragment.parse(readme, List.of());
        assertEquals(List.of("org.example:lib:1.2", "org.example:natives:4"),
                pom.dependencies().stream().map(Object::toString).toList(), "the test scope is left out by default");
        assertTrue(pom.dependencies().get(1).dependencyXml().contains("<classifier>linux-x86_64</classifier>"));
        assertEquals("https://example.org/snapshots/", pom.repositories().get(0)[1]);
        assertEquals(List.of("org.example:test-only:3"),
                PomFragment.parse(readme, List.of("test")).dependencies().stream().map(Object::toString).toList());

        String project = "<?xml version=\"1.0\"?><project><modelVersion>4.0.0</modelVersion><groupId>g</groupId>"
                + "<artifactId>a</artifactId><version>1</version><dependencies><dependency><groupId>x</groupId>"
                + "<artifactId>y</artifactId><version>2</version></dependency></dependencies><build><plugins><plugin>"
                + "<dependencies><dependency><groupId>p</groupId><artifactId>q</artifactId><version>9</version>"
                + "</dependency></dependencies></plugin></plugins></build></project>";
        assertEquals(List.of("x:y:2"), PomFragment.parse(project, List.of()).dependencies().stream()
                .map(Object::toString).toList(), "a whole POM; its plugins' dependencies are not the notebook's");

        Exception noVersion = assertThrows(IllegalArgumentException.class, () -> PomFragment.parse(
                "<dependency><groupId>g</groupId><artifactId>a</artifactId></dependency>", List.of()));
        assertTrue(noVersion.getMessage().contains("g:a has no <version>"), noVersion.getMessage());
        Exception xxe = assertThrows(Exception.class, () -> PomFragment.parse(
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><dependency>&e;</dependency>", List.of()));
        assertNotNull(xxe.getMessage());
    }

    @Test
    void aMagicAfterAnEqualsSignIsAValueAsInIJava() {
        assertEquals("List<String> jars = lineMagic(\"jars\", List.of(\"lib/*.jar\", \"my dir/x.jar\"));",
                Magics.inlineMagics("List<String> jars = %jars lib/*.jar \"my dir/x.jar\""));
        assertEquals("var cp = lineMagic(\"classpath\", List.of());", Magics.inlineMagics("var cp = %classpath;"));
        for (String java : List.of("int r = a % b;", "String f = \"x=%s\";", "x %= 3;", "%jars a.jar",
                "System.out.printf(\"a=%d%n\", 1);")) {
            assertEquals(java, Magics.inlineMagics(java), "left alone: " + java);
        }
        assertEquals("\"a\\\"b\\\\c\\n\"", Magics.javaString("a\"b\\c\n"));
    }

    @Test
    void cellMagicsOtherThanLoadFromPomAreNamed() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new Magics(new Recorder()).runCell("%%bash\necho hi", System.out));
        assertTrue(e.getMessage().contains("unknown cell magic %%bash") && e.getMessage().contains("%%loadFromPOM"),
                e.getMessage());
        Exception empty = assertThrows(IllegalArgumentException.class,
                () -> new Magics(new Recorder()).runCell("%%loadFromPOM\n<project/>", System.out));
        assertTrue(empty.getMessage().contains("no <dependency>"), empty.getMessage());
    }

    @Test
    void mistakesNameTheFix(@TempDir Path dir) {
        Magics magics = new Magics(new Recorder());
        Exception unknown = assertThrows(IllegalArgumentException.class, () -> magics.run("%foo", System.out));
        assertTrue(unknown.getMessage().contains("%maven"), unknown.getMessage());
        Exception missing = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> magics.run("%jars " + dir + "/nothing/*.jar", System.out));
        assertTrue(missing.getMessage().contains("nothing matches"), missing.getMessage());
        Exception coordinate = assertThrows(IllegalArgumentException.class,
                () -> magics.run("%maven just-a-name", System.out));
        assertTrue(coordinate.getMessage().contains("group:artifact:version"), coordinate.getMessage());
    }

    @Test
    void mavenLocalRepositoryIsM2UnlessTheVariableNamesAFolder(@TempDir Path dir) throws Exception {
        assertEquals(Path.of(System.getProperty("user.home"), ".m2", "repository"),
                MavenResolver.localRepository(null));
        assertEquals(dir.resolve("repo"), MavenResolver.localRepository(dir.resolve("repo").toString()));
        Path file = Files.writeString(dir.resolve("not-a-folder"), "");
        Exception ex = assertThrows(IllegalArgumentException.class,
                () -> MavenResolver.localRepository(file.toString()));
        assertTrue(ex.getMessage().startsWith("KIT_MAVEN_REPO_LOCAL=" + file + " is not a folder: set it to"),
                ex.getMessage());
    }
}
