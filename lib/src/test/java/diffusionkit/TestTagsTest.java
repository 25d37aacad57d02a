package diffusionkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The tags of {@link TestTags} are the ones the tests use and the fast command leaves out: a misspelt tag, a browser or
 * Jupyter test without its tag, or a fast command that excludes other tags would let the fast run need Chromium or
 * Jupyter, or silently run no test of a kind.
 */
class TestTagsTest {

    private static final Path ROOT = Paths.get("").toAbsolutePath().getParent();
    private static final List<Path> TEST_SOURCES = List.of(
            ROOT.resolve("lib/src/test/java"), ROOT.resolve("environment/kernel/src/test/java"));
    private static final Pattern TAG = Pattern.compile("@Tag\\(\\s*\"([^\"]*)\"\\s*\\)");

    @Test
    void everyTagInTheTestSourcesIsAKnownOne() throws IOException {
        List<String> unknown = new ArrayList<>();
        int tags = 0;
        for (Path f : testSources()) {
            Matcher m = TAG.matcher(Files.readString(f, StandardCharsets.UTF_8));
            while (m.find()) {
                tags++;
                if (!TestTags.ALL.contains(m.group(1))) {
                    unknown.add(ROOT.relativize(f) + ": " + m.group(1));
                }
            }
        }
        assertEquals(List.of(), unknown, "tags not in TestTags.ALL " + TestTags.ALL);
        assertTrue(tags >= 2, "found only " + tags + " @Tag(\"...\") in " + TEST_SOURCES + " (Notebooks, installed)");
    }

    @Test
    void theMetaAnnotationsCarryTheirTags() {
        assertEquals(TestTags.SLOW, TestTags.Slow.class.getAnnotation(Tag.class).value());
        assertEquals(TestTags.BROWSER, TestTags.Browser.class.getAnnotation(Tag.class).value());
    }

    @Test
    void testsThatStartChromiumOrJupyterAreTagged() throws IOException {
        // what the fast command must not need: Chromium (lib's demo.Browser helper) and Jupyter (kernel's Jupyter helper)
        Map<String, String> needs = Map.of("Browser.start(", "@TestTags.Browser", "new Jupyter(", "@Notebooks");
        List<String> untagged = new ArrayList<>();
        int users = 0;
        for (Path f : testSources()) {
            if (f.endsWith("TestTagsTest.java")) {
                continue; // names both helpers and both tags, as strings
            }
            String text = Files.readString(f, StandardCharsets.UTF_8);
            for (Map.Entry<String, String> need : needs.entrySet()) {
                if (text.contains(need.getKey())) {
                    users++;
                    if (!text.contains(need.getValue())) {
                        untagged.add(ROOT.relativize(f) + " (" + need.getKey() + " without " + need.getValue() + ")");
                    }
                }
            }
        }
        assertEquals(List.of(), untagged);
        assertTrue(users >= 2, "no test starts Chromium or Jupyter? found " + users);
    }

    @Test
    void theFastCommandLeavesOutExactlyTheFastExcludes() throws IOException {
        String expected = "FAST_EXCLUDES=" + String.join(",", TestTags.FAST_EXCLUDES);
        List<String> lines = Files.readAllLines(ROOT.resolve("environment/test.sh")).stream()
                .filter(l -> l.startsWith("FAST_EXCLUDES=")).toList();
        assertEquals(List.of(expected), lines, "environment/test.sh");
        // every test still runs by default (CI): the parent pom's property is empty
        String pom = Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
        assertTrue(pom.contains("<test.excludedGroups></test.excludedGroups>"),
                "the parent pom must exclude no tag by default (CI runs every test)");
    }

    private static List<Path> testSources() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path dir : TEST_SOURCES) {
            assertTrue(Files.isDirectory(dir), "test sources not found: " + dir + " (run from lib/)");
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".java")).sorted().forEach(files::add);
            }
        }
        return files;
    }
}
