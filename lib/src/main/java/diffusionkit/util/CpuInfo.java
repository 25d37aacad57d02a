package diffusionkit.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The processor a figure was measured on: its model name and vector extensions, read from {@code /proc/cpuinfo}
 * (Linux) with the JVM's architecture as the fallback. Timings and the convolution defect both depend on it
 * ({@link Convolutions}): a benchmark or a model card names it beside its numbers.
 */
public final class CpuInfo {

    /** The vector extensions that matter for PyTorch's CPU kernels, in the order they are printed. */
    private static final List<String> VECTOR_FLAGS = List.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw",
            "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "asimd", "sve");

    private CpuInfo() {}

    /** The model name, e.g. "AMD EPYC 7B13", or the architecture when it cannot be read. */
    public static String model() {
        String name = field("model name");
        if (name == null) {
            name = field("Model name");
        }
        String family = field("cpu family");
        String model = field("model");
        String base = name != null ? name : System.getProperty("os.arch");
        // virtual machines often say only "AMD EPYC": the family number tells Zen 3 (25) from Zen 5 (26)
        if (family != null && model != null && name != null && !name.matches(".*\\d{3,}.*")) {
            String zen = "AuthenticAMD".equals(field("vendor_id")) ? switch (family) {
                case "23" -> ", Zen 1/2";
                case "25" -> ", Zen 3/4";
                case "26" -> ", Zen 5";
                default -> "";
            } : "";
            base += " (family " + family + ", model " + model + zen + ")";
        }
        return base;
    }

    /** The vector extensions present, from {@link #VECTOR_FLAGS}, e.g. [avx, avx2, fma, avx512f, ...]. */
    public static List<String> vectorExtensions() {
        String flags = field("flags");
        if (flags == null) {
            flags = field("Features");
        }
        if (flags == null) {
            return List.of();
        }
        Set<String> have = new LinkedHashSet<>(List.of(flags.split("\\s+")));
        List<String> out = new ArrayList<>();
        for (String f : VECTOR_FLAGS) {
            if (have.contains(f)) {
                out.add(f);
            }
        }
        return out;
    }

    /** One line: "CPU: <model>, <n> cores for the JVM; vector extensions: ...". */
    public static String describe() {
        List<String> ext = vectorExtensions();
        return String.format(Locale.ROOT, "CPU: %s, %d cores for the JVM; vector extensions: %s", model(),
                Runtime.getRuntime().availableProcessors(), ext.isEmpty() ? "unknown" : String.join(" ", ext));
    }

    /** A field of the first processor's block of /proc/cpuinfo, or null. */
    private static String field(String key) {
        return Fields.FIRST_CPU.get(key);
    }

    /** The first processor's fields, read once (they do not change while the JVM runs). */
    private static final class Fields {
        static final Map<String, String> FIRST_CPU = read();

        private static Map<String, String> read() {
            Map<String, String> fields = new HashMap<>();
            Path p = Path.of("/proc/cpuinfo");
            if (!Files.isReadable(p)) {
                return fields;
            }
            try {
                for (String line : Files.readAllLines(p)) {
                    int colon = line.indexOf(':');
                    if (colon > 0) {
                        fields.putIfAbsent(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
                    }
                }
            } catch (IOException e) {
                fields.clear();
            }
            return fields;
        }
    }
}
