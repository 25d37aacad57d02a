package diffusionkit.util;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The glibc allocator settings the kit runs with on the CPU ({@code ./kit}, the tests, the Jupyter kernel's
 * {@code kernel.json}): the environment of the process, read by glibc when it starts, so a running JVM can only
 * report them. {@code ./kit info} and {@code ./kit benchmark} print {@link #describe()}.
 *
 * <p><b>Why.</b> PyTorch's CPU tensors come from {@code malloc}. By default glibc hands a freed buffer of 128 KB or
 * more straight back to the operating system, and the next tensor of that size is faulted in again page by page;
 * {@code MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824} keep freed memory in the
 * heap for reuse. Those three act on glibc's main heap only. Java runs the kit on threads that are not the process's
 * first, and glibc serves such threads from arenas of 64 MB mappings; a tensor larger than that is mapped on its
 * own and unmapped when freed, whatever the three say. {@code MALLOC_ARENA_MAX=1} sends every thread to the main
 * heap. Measured on an AMD Zen 5 (2 cores), the 32x32 RGB UNet's training step at batch 128, the last of four
 * steps: without it, 5.27 GB of anonymous mappings made and unmapped within the step (strace), 1.24 million minor
 * page faults, 17-20 s; with it, none, 1.1 thousand faults, 7.6 s. Eager PyTorch in Python allocates on the
 * process's first thread and does not need it.
 */
public final class MallocSettings {

    /** The settings, in the order they are printed. */
    public static final Map<String, String> RECOMMENDED;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("MALLOC_ARENA_MAX", "1");
        m.put("MALLOC_MMAP_MAX_", "0");
        m.put("MALLOC_TRIM_THRESHOLD_", "68719476736");
        m.put("MALLOC_TOP_PAD_", "1073741824");
        RECOMMENDED = java.util.Collections.unmodifiableMap(m);
    }

    private MallocSettings() {}

    /** The recommended settings that {@code env} lacks or sets to another value ("NAME=value (have: other)"). */
    public static List<String> missing(Map<String, String> env) {
        List<String> out = new ArrayList<>();
        RECOMMENDED.forEach((k, v) -> {
            String have = env.get(k);
            if (!v.equals(have)) {
                out.add(k + "=" + v + (have == null ? "" : " (have: " + have + ")"));
            }
        });
        return out;
    }

    /** The recommended settings as one shell line, {@code MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 ...}. */
    public static String shellLine() {
        StringBuilder sb = new StringBuilder();
        RECOMMENDED.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(v));
        return sb.toString();
    }

    /** One line for {@code ./kit info} and the benchmark: whether this process runs with the settings. */
    public static String describe() {
        return describe(System.getenv());
    }

    static String describe(Map<String, String> env) {
        List<String> miss = missing(env);
        if (miss.isEmpty()) {
            return "glibc malloc: " + shellLine() + " (the kit's settings)";
        }
        return "glibc malloc: not the kit's settings, missing " + String.join(" ", miss)
                + ": CPU training at large batches can take 2-3x as long; start through ./kit or set them before Java starts";
    }
}
