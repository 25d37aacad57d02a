package diffusionkit.util;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The allocator settings the kit's launchers set, against each launcher's text and the environment of this test. */
class MallocSettingsTest {

    @Test
    void missingNamesWhatIsAbsentOrDifferent() {
        Map<String, String> env = new HashMap<>(MallocSettings.RECOMMENDED);
        assertEquals(List.of(), MallocSettings.missing(env));
        assertTrue(MallocSettings.describe(env).endsWith("(the kit's settings)"));
        env.remove("MALLOC_ARENA_MAX");
        env.put("MALLOC_TOP_PAD_", "0");
        assertEquals(List.of("MALLOC_ARENA_MAX=1", "MALLOC_TOP_PAD_=1073741824 (have: 0)"), MallocSettings.missing(env));
        assertTrue(MallocSettings.describe(env).contains("missing MALLOC_ARENA_MAX=1 MALLOC_TOP_PAD_=1073741824"));
    }

    @Test
    void thisTestRunsWithThem() {
        // Maven's surefire sets them (pom.xml), as ./kit and the kernel do: the tests measure what learners run
        assertEquals(List.of(), MallocSettings.missing(System.getenv()), MallocSettings.describe());
    }

    @Test
    void everyLauncherSetsTheSameValues() throws Exception {
        Path root = diffusionkit.data.KitHome.find();
        assertNotNull(root, "the tests run inside the checkout");
        for (String launcher : List.of("kit", "environment/test.sh", "environment/start.sh", "environment/install-kernel.sh", "pom.xml")) {
            String text = Files.readString(root.resolve(launcher));
            for (Map.Entry<String, String> e : MallocSettings.RECOMMENDED.entrySet()) {
                String k = e.getKey();
                String v = e.getValue();
                boolean found = text.contains(k + "=" + v) || text.contains(k + "=\"${" + k + ":-" + v + "}\"")
                        || text.contains("\"" + k + "\": \"" + v + "\"") || text.contains("<" + k + ">" + v + "</" + k + ">");
                assertTrue(found, launcher + " does not set " + k + "=" + v);
            }
        }
    }
}
