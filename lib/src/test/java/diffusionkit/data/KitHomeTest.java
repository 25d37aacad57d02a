package diffusionkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** Paths in printed output: relative to the kit's checkout inside it, as given outside. */
class KitHomeTest {

    @Test
    void pathsInsideTheCheckoutArePrintedRelativeToIt(@TempDir Path kit, @TempDir Path elsewhere) {
        String before = System.getProperty("diffusionkit.home");
        System.setProperty("diffusionkit.home", kit.toString());
        try {
            assertEquals(Path.of("runs", "notebook-01", "logs").toString(),
                    KitHome.shown(kit.resolve("runs/notebook-01/logs")));
            assertEquals(elsewhere.resolve("model").toString(), KitHome.shown(elsewhere.resolve("model")));
        } finally {
            if (before == null) {
                System.clearProperty("diffusionkit.home");
            } else {
                System.setProperty("diffusionkit.home", before);
            }
        }
    }
}
