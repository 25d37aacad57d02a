package diffusionkit.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Finds the kit's checkout: the system property {@code diffusionkit.home}, else the first folder at or above the working folder that has {@code datasets/README.md}. */
public final class KitHome {

    private KitHome() {}

    /** The kit's root folder, or null when not inside a checkout. */
    public static Path find() {
        String p = System.getProperty("diffusionkit.home");
        if (p == null || p.isBlank()) {
            p = System.getenv("DIFFUSIONKIT_HOME");
        }
        if (p != null && !p.isBlank()) {
            return Paths.get(p).toAbsolutePath();
        }
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("datasets").resolve("README.md"))) {
                return d;
            }
        }
        return null;
    }
}
