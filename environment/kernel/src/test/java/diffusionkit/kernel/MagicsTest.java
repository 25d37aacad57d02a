package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    void loadEvaluatesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("s.jsh");
        Files.writeString(file, "int x = 1;\n");
        assertEquals("evaluated: int x = 1;", new Magics(new Recorder()).run("%load " + file, System.out));
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
