package diffusionkit.util;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The settings of a course notebook: a mode ({@code KIT_MODE}: {@code ci} for the tests' tiny run, {@code quick}
 * for a laptop, the default, {@code full} for the course's sizes) gives every integer setting its value, and an
 * environment variable of the setting's name overrides it. Replaces the first cell both notebooks used to copy:
 * <pre>
 *   NotebookSettings settings = NotebookSettings.fromEnvironment();
 *   int N_SAMPLES = settings.get("N_SAMPLES", 4, 8, 8);      // ci, quick, full
 *   settings.threads(1, 1, 0);                               // KIT_THREADS: PyTorch's CPU threads
 *   System.out.println(settings);                            // what was read, for the record
 * </pre>
 */
public final class NotebookSettings {

    /** The modes, in the order of {@link #get}'s arguments. */
    public static final List<String> MODES = List.of("ci", "quick", "full");

    private final Map<String, String> env;
    private final String mode;
    private final Map<String, Integer> read = new LinkedHashMap<>();
    private Integer threads;

    private NotebookSettings(Map<String, String> env) {
        this.env = env;
        String m = env.getOrDefault("KIT_MODE", "quick").strip();
        if (!MODES.contains(m)) {
            throw new IllegalArgumentException("KIT_MODE must be ci, quick or full, got " + m);
        }
        this.mode = m;
    }

    /** The settings of this process's environment. */
    public static NotebookSettings fromEnvironment() {
        return new NotebookSettings(System.getenv());
    }

    /** The settings of the given variables (tests). */
    public static NotebookSettings of(Map<String, String> env) {
        return new NotebookSettings(Map.copyOf(env));
    }

    /** {@code ci}, {@code quick} or {@code full}. */
    public String mode() {
        return mode;
    }

    /**
     * An integer setting: the environment variable {@code name} if set, else the value of the mode.
     *
     * @throws IllegalArgumentException when the variable is not an integer
     */
    public int get(String name, int ci, int quick, int full) {
        int value = value(name, ci, quick, full);
        read.put(name, value);
        return value;
    }

    private int value(String name, int ci, int quick, int full) {
        String v = text(name, null);
        if (v == null) {
            return mode.equals("full") ? full : mode.equals("ci") ? ci : quick;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + env.get(name) + "': unset it "
                    + "or give e.g. " + name + "=" + quick);
        }
    }

    /** A text setting: the environment variable {@code name} if set (and not blank), else {@code fallback}. */
    public String text(String name, String fallback) {
        String v = env.get(name);
        return v != null && !v.isBlank() ? v.strip() : fallback;
    }

    /** A folder setting: the environment variable {@code name} if set, else {@code fallback}. */
    public Path path(String name, Path fallback) {
        String v = text(name, null);
        return v != null ? Path.of(v) : fallback;
    }

    /**
     * PyTorch's CPU threads ({@code KIT_THREADS}; 0 keeps PyTorch's default, all cores). These models are small,
     * and on a busy machine one thread per operation is many times faster than several that wait for each other.
     * Must be called before the first array is made.
     *
     * @return the number of threads (0: PyTorch's default)
     */
    public int threads(int ci, int quick, int full) {
        int n = value("KIT_THREADS", ci, quick, full); // printed on a line of its own, not among the settings
        if (n > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(n));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        threads = n;
        return n;
    }

    /**
     * Three lines: the mode and every integer setting read, the threads, the machine and the time of the run, e.g.
     * {@code KIT_MODE=quick  N_SAMPLES=8  ...}.
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("KIT_MODE=").append(mode);
        read.forEach((k, v) -> b.append("  ").append(k).append('=').append(v));
        if (threads != null) {
            b.append("\nKIT_THREADS=").append(threads).append(threads == 0 ? " (PyTorch's default)" : "");
        }
        b.append(String.format(Locale.ROOT, "%nMachine: %d cores, %s, run at %s", Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), Instant.now()));
        return b.toString();
    }
}
