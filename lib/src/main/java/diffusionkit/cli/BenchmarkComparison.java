package diffusionkit.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The eager-PyTorch side of {@code ./kit benchmark --compare}: runs {@code environment/reference/unet_eager.py bench}
 * (a twin of diffusers' UNet2DModel that reproduces diffusers' outputs, on Debian's {@code python3-torch}) as a
 * subprocess with this process's environment (the glibc settings {@code ./kit} exports) and the same thread count,
 * reads the JSON object on its last output line, and lays both sides out as one table: each case's median time,
 * the ratio kit / PyTorch, and for forward passes the work done per second against the matrix-multiply peak
 * measured in the same run.
 */
final class BenchmarkComparison {

    /** One timed case: median and minimum wall seconds, median process CPU seconds. */
    record Timing(double medianSeconds, double minSeconds, double cpuSeconds) {}

    private BenchmarkComparison() {}

    /**
     * Runs the reference script and returns its JSON result.
     *
     * @throws IOException when Python or torch is missing (the message says how to get them), or the script fails
     */
    static JsonObject runReference(String python, Path script, int threads, int warmup, int runs, String only,
            boolean sampling) throws IOException, InterruptedException {
        if (!Files.isRegularFile(script)) {
            throw new IOException("the reference script is missing: " + script + " (run from the kit's folder)");
        }
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "bench", "--threads", String.valueOf(threads),
                "--warmup", String.valueOf(warmup), "--runs", String.valueOf(runs), "--json"));
        if (only != null) {
            cmd.addAll(List.of("--only", only));
        }
        if (sampling) {
            cmd.add("--sampling");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("OMP_NUM_THREADS", String.valueOf(threads));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot run " + python + " (" + e.getMessage() + "): --compare needs Python 3 with "
                    + "PyTorch, e.g. Debian's packages python3-torch and python3-numpy (apt install python3-torch), "
                    + "or --python PATH to another interpreter", e);
        }
        String out;
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            out = buf.toString(StandardCharsets.UTF_8);
        }
        if (!p.waitFor(6, TimeUnit.HOURS) || p.exitValue() != 0) {
            throw new IOException("the reference benchmark failed (exit " + p.exitValue() + "); its output:\n" + out
                    + "\n(it needs PyTorch: Debian's python3-torch; check with " + python + " -c 'import torch')");
        }
        return parseLastLine(out);
    }

    /** The JSON object on the last non-empty line of the script's output. */
    static JsonObject parseLastLine(String output) throws IOException {
        String[] lines = output.strip().split("\n");
        String last = lines.length == 0 ? "" : lines[lines.length - 1].strip();
        try {
            JsonElement e = JsonParser.parseString(last);
            if (e.isJsonObject() && e.getAsJsonObject().has("cases")) {
                return e.getAsJsonObject();
            }
        } catch (RuntimeException ignored) {
            // reported below
        }
        throw new IOException("the reference benchmark's last line is not its JSON result: '" + last + "'");
    }

    /**
     * The side-by-side table. For each case the kit timed: PyTorch's and the kit's median, kit / PyTorch (below 1:
     * the kit is faster), and for cases with a FLOP count (forward passes, counted by the reference's hooks on its
     * convolutions, linear layers and attention products) the kit's GFLOP/s and its share of the kit's own 2048x2048
     * matrix-multiply rate, and of the reference's where that is higher (OpenBLAS with AVX-512 kernels multiplies
     * faster than the MKL inside the kit's natives on an AMD CPU).
     */
    static String table(Map<String, Timing> kit, double kitMatmulGflops, JsonObject ref) {
        JsonObject cases = ref.getAsJsonObject("cases");
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-26s %12s %10s %9s %8s %s%n", "case", "PyTorch (s)", "kit (s)",
                "kit/PT", "GFLOP", "kit GFLOP/s (share of the matmul peak)"));
        for (Map.Entry<String, Timing> e : kit.entrySet()) {
            JsonObject r = cases.has(e.getKey()) ? cases.getAsJsonObject(e.getKey()) : null;
            double k = e.getValue().medianSeconds();
            if (r == null) {
                sb.append(String.format(Locale.ROOT, "%-26s %12s %10.3f%n", e.getKey(), "-", k));
                continue;
            }
            double pt = r.get("median_s").getAsDouble();
            String flops = "";
            String rate = "";
            boolean forward = e.getKey().contains("forward");
            if (forward && r.has("gflop")) {
                double gflop = r.get("gflop").getAsDouble();
                flops = String.format(Locale.ROOT, "%.1f", gflop);
                rate = String.format(Locale.ROOT, "%.1f (%.0f %% of %.0f", gflop / k, 100 * gflop / k / kitMatmulGflops,
                        kitMatmulGflops);
                double refMatmul = ref.has("matmul_gflops") ? ref.get("matmul_gflops").getAsDouble() : 0;
                if (refMatmul > kitMatmulGflops) {  // the reference's BLAS multiplies faster: the machine's peak is that
                    rate += String.format(Locale.ROOT, "; %.0f %% of the reference's %.0f", 100 * gflop / k / refMatmul, refMatmul);
                }
                rate += ")";
            }
            sb.append(String.format(Locale.ROOT, "%-26s %12.3f %10.3f %9.2f %8s %s%n", e.getKey(), pt, k, k / pt, flops, rate));
        }
        if (ref.has("matmul_gflops")) {
            sb.append(String.format(Locale.ROOT, "matmul 2048x2048 float32: kit (DJL) %.0f GFLOP/s, reference %.0f GFLOP/s%s%n",
                    kitMatmulGflops, ref.get("matmul_gflops").getAsDouble(),
                    ref.has("blas") ? " (its BLAS: " + ref.get("blas").getAsString() + ")" : ""));
        }
        if (ref.has("batch_scale")) {
            sb.append("NOTE: the reference ran smaller batches (batch_scale " + ref.get("batch_scale").getAsDouble()
                    + "): its times are not comparable\n");
        }
        return sb.toString();
    }

    /** The sampling rates side by side: images per second of 50-step DDIM, per model and batch. */
    static String samplingTable(Map<String, Double> kit, JsonObject ref) {
        JsonObject s = ref.has("sampling") ? ref.getAsJsonObject("sampling") : new JsonObject();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-20s %14s %10s%n", "50-step DDIM", "PyTorch img/s", "kit img/s"));
        kit.forEach((name, rate) -> sb.append(String.format(Locale.ROOT, "%-20s %14s %10.2f%n", name,
                s.has(name) ? String.format(Locale.ROOT, "%.2f", s.get(name).getAsDouble()) : "-", rate)));
        return sb.toString();
    }
}
