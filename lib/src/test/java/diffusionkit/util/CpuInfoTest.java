package diffusionkit.util;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The CPU line that benchmarks and {@code ./kit info} print, against /proc/cpuinfo read here independently. */
class CpuInfoTest {

    @Test
    void modelAndVectorExtensionsComeFromProcCpuinfo() throws Exception {
        Path p = Path.of("/proc/cpuinfo");
        assertTrue(Files.isReadable(p), "the kit's machines are Linux");
        List<String> lines = Files.readAllLines(p);
        String name = lines.stream().filter(l -> l.startsWith("model name")).findFirst().orElseThrow();
        String modelName = name.substring(name.indexOf(':') + 1).trim();
        assertTrue(CpuInfo.model().startsWith(modelName), CpuInfo.model() + " vs " + modelName);
        String flags = lines.stream().filter(l -> l.startsWith("flags")).findFirst().orElseThrow();
        List<String> have = List.of(flags.substring(flags.indexOf(':') + 1).trim().split("\\s+"));
        List<String> ext = CpuInfo.vectorExtensions();
        // every listed extension is in the flags, and SSE4.2, which every x86-64 CPU of the last decade has, is found
        assertTrue(have.containsAll(ext), ext.toString());
        assertTrue(ext.contains("sse4_2"), ext.toString());
        assertEquals(have.contains("avx512f"), ext.contains("avx512f"));
        String line = CpuInfo.describe();
        assertTrue(line.startsWith("CPU: " + CpuInfo.model() + ", " + Runtime.getRuntime().availableProcessors()
                + " cores for the JVM; vector extensions: " + String.join(" ", ext)), line);
    }
}
