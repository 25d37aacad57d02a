package diffusionkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The side-by-side table of {@code ./kit benchmark --compare}, on a stand-in for the eager-PyTorch script. */
class BenchmarkComparisonTest {

    static final String REF = "{\"engine\": \"pytorch 1.13.0a0\", \"threads\": 2, \"cases\": {"
            + "\"unet_b forward bs80\": {\"median_s\": 0.85, \"min_s\": 0.8, \"cpu_s\": 1.6, \"gflop\": 51.0, \"batch\": 80},"
            + "\"unet_b train step bs32\": {\"median_s\": 1.25, \"min_s\": 1.2, \"cpu_s\": 2.4, \"gflop\": 20.4, \"batch\": 32}},"
            + "\"matmul_gflops\": 6.1, \"sampling\": {\"unet_b bs8\": 4.0}, \"blas\": \"generic\"}";

    @Test
    void ratiosAndShareOfThePeak() throws IOException {
        JsonObject ref = BenchmarkComparison.parseLastLine("warming up\n" + REF + "\n");
        Map<String, BenchmarkComparison.Timing> kit = new LinkedHashMap<>();
        kit.put("unet_b forward bs80", new BenchmarkComparison.Timing(1.7, 1.6, 3.3));
        kit.put("unet_b train step bs32", new BenchmarkComparison.Timing(0.5, 0.5, 1.0));
        kit.put("rgb32 forward bs80", new BenchmarkComparison.Timing(3.0, 2.9, 6.0));
        String t = BenchmarkComparison.table(kit, 170, ref);
        // 1.7 / 0.85 = 2.00; 51 GFLOP in 1.7 s = 30.0 GFLOP/s = 18 % of 170; the step: 0.5 / 1.25 = 0.40, no rate
        assertTrue(t.contains("unet_b forward bs80") && t.contains(" 2.00 ") && t.contains("30.0 (18 % of 170)"), t);
        assertTrue(t.lines().anyMatch(l -> l.startsWith("unet_b train step bs32") && l.contains(" 0.40") && !l.contains("%")), t);
        assertTrue(t.lines().anyMatch(l -> l.startsWith("rgb32 forward bs80") && l.contains(" - ")), "a case the reference lacks: " + t);
        assertTrue(t.contains("kit (DJL) 170 GFLOP/s, reference 6 GFLOP/s (its BLAS: generic)"), t);
        // a reference whose BLAS multiplies faster than the kit's (OpenBLAS with AVX-512 kernels): the share of its rate too
        String faster = BenchmarkComparison.table(kit, 170, BenchmarkComparison.parseLastLine(REF.replace("6.1", "340")));
        assertTrue(faster.contains("30.0 (18 % of 170; 9 % of the reference's 340)"), faster);
        Map<String, Double> rates = new LinkedHashMap<>();
        rates.put("unet_b bs8", 10.0);
        rates.put("unet_b bs80", 12.5);
        String s = BenchmarkComparison.samplingTable(rates, ref);
        assertTrue(s.lines().anyMatch(l -> l.startsWith("unet_b bs8") && l.contains("4.00") && l.contains("10.00")), s);
        assertTrue(s.lines().anyMatch(l -> l.startsWith("unet_b bs80") && l.contains(" - ") && l.contains("12.50")), s);
    }

    @Test
    void theReferenceRunsWithTheSameThreadsAndItsFailuresAreClear(@TempDir Path dir) throws Exception {
        // a stand-in for python: it checks the arguments and OMP_NUM_THREADS, then prints a result
        Path fake = dir.resolve("fake-python");
        Files.writeString(fake, "#!/bin/sh\n"
                + "[ \"$2\" = bench ] && [ \"$4\" = 3 ] && [ \"$OMP_NUM_THREADS\" = 3 ] || { echo \"bad: $* $OMP_NUM_THREADS\"; exit 2; }\n"
                + "echo 'timing ...'\necho '" + REF + "'\n");
        fake.toFile().setExecutable(true);
        Path script = Files.writeString(dir.resolve("unet_eager.py"), "# stand-in\n");
        JsonObject ref = BenchmarkComparison.runReference(fake.toString(), script, 3, 0, 1, null, false);
        assertEquals(0.85, ref.getAsJsonObject("cases").getAsJsonObject("unet_b forward bs80").get("median_s").getAsDouble());
        IOException wrongThreads = assertThrows(IOException.class,
                () -> BenchmarkComparison.runReference(fake.toString(), script, 2, 0, 1, null, false));
        assertTrue(wrongThreads.getMessage().contains("failed") && wrongThreads.getMessage().contains("python3-torch"),
                wrongThreads.getMessage());
        IOException missing = assertThrows(IOException.class,
                () -> BenchmarkComparison.runReference(dir.resolve("no-such-python").toString(), script, 2, 0, 1, null, false));
        assertTrue(missing.getMessage().contains("python3-torch"), missing.getMessage());
        assertThrows(IOException.class, () -> BenchmarkComparison.parseLastLine("no json here"));
    }
}
