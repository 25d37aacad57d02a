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

    /**
     * {@code path} as a learner reads it in printed output: relative to the kit's checkout when it lies inside it
     * ({@code runs/notebook-01/finetune-logs}), else as given. Printed outputs then say the same on every machine.
     */
    public static String shown(Path path) {
        Path home = find();
        Path abs = path.toAbsolutePath().normalize();
        return home != null && abs.startsWith(home.normalize()) ? home.normalize().relativize(abs).toString() : path.toString();
    }
}
