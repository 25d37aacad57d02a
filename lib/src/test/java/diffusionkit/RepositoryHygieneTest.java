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

    /** Package registries' host names, spelled in pieces so this file does not contain them. */
    private static final List<String> REGISTRY_HOSTS = List.of(
            "registry." + "npmjs.org", "npmjs." + "com", "repo1." + "maven.org", "repo." + "maven.apache.org",
            "central." + "sonatype", "search." + "maven.org", "deb." + "debian.org", "security." + "debian.org",
            "pypi." + "org", "files." + "pythonhosted.org", "registry." + "yarnpkg.com");

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

    private static boolean tracked(Path p) {
        String s = p.toString();
        return !s.contains("/.git/") && !s.contains("/target/") && !s.contains("/datasets/cache/")
                && !s.contains("/node_modules/");
    }
}
