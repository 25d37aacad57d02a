package diffusionkit;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Facts about the repository itself that every change must keep. */
class RepositoryHygieneTest {

    /**
     * Package registries' host names (and their parent domains), spelled in pieces so that this file does not
     * contain them either.
     */
    private static final List<String> REGISTRY_HOSTS = List.of(
            "npm" + "js.org", "npm" + "js.com", "maven" + ".org", "repo.maven" + ".apache.org",
            "central." + "sonatype", "debian" + ".org", "py" + "pi.org", "python" + "hosted.org",
            "yarn" + "pkg.com", "hugging" + "face.co/");

    @Test
    void noPackageRegistryHostNameAppearsInTheRepository() throws IOException {
        Path root = Paths.get("").toAbsolutePath().getParent();
        assertTrue(Files.isRegularFile(root.resolve("pom.xml")), "run from lib/: " + root);
        List<String> hits = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).filter(RepositoryHygieneTest::tracked).toList()) {
                if (Files.size(f) > 5_000_000) {
                    continue;
                }
                String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).toLowerCase();
                for (String host : REGISTRY_HOSTS) {
                    if (text.contains(host)) {
                        hits.add(root.relativize(f) + ": " + host);
                    }
                }
            }
        }
        assertEquals(List.of(), hits);
    }

    @Test
    void noPackageRegistryHostNameAppearsInACommitMessage() throws Exception {
        Path root = Paths.get("").toAbsolutePath().getParent();
        assertTrue(Files.exists(root.resolve(".git")), "the kit's tests run in a git clone: " + root);
        Process git = new ProcessBuilder("git", "-C", root.toString(), "log", "--format=%H %B")
                .redirectErrorStream(true).start();
        String log = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, git.waitFor(), log);
        assertFalse(log.isBlank(), "git log printed nothing");
        List<String> hits = new ArrayList<>();
        for (String host : REGISTRY_HOSTS) {
            if (log.toLowerCase().contains(host)) {
                hits.add(host);
            }
        }
        assertEquals(List.of(), hits);
    }

    @Test
    void vizDependsOnNoModelCode() throws IOException {
        // pictures and tables are usable without any model: viz may use data, never models, pipelines or training
        Path viz = Paths.get("src/main/java/diffusionkit/viz");
        assertTrue(Files.isDirectory(viz), viz.toAbsolutePath().toString());
        List<String> hits = new ArrayList<>();
        try (Stream<Path> files = Files.list(viz)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    String l = line.strip();
                    if ((l.startsWith("import diffusionkit.") || l.startsWith("import static diffusionkit."))
                            && !l.contains("diffusionkit.data.") && !l.contains("diffusionkit.viz.")) {
                        hits.add(f.getFileName() + ": " + l);
                    }
                }
            }
        }
        assertEquals(List.of(), hits);
    }

    private static boolean tracked(Path p) {
        String s = p.toString();
        return !s.contains("/.git/") && !s.contains("/target/") && !s.contains("/datasets/cache/")
                && !s.contains("/node_modules/");
    }
}
