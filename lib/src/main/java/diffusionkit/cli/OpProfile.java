package diffusionkit.cli;

import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a piece of work spends its time, per PyTorch operator: runs it under PyTorch's profiler (the one behind
 * {@code torch.autograd.profiler}, through DJL's {@link JniUtils#startProfile}), reads the Chrome trace it writes
 * and sums each operator's <em>self</em> time (its duration less that of the operators it called, per thread), as
 * the profiler's own table does. {@code ./kit benchmark --profile} prints it for a forward pass and a training step.
 */
final class OpProfile {

    /** One operator's total self time, its calls and its share of all self time. */
    record Row(String name, double selfMs, int calls, double share) {}

    private OpProfile() {}

    /** The operators' self times and the wall time of the work they came from. */
    record Profile(List<Row> rows, double wallMs) {}

    /** Runs {@code work} once under the profiler; the trace goes to {@code trace} (a .json file). */
    static Profile run(Runnable work, Path trace) throws IOException {
        Files.createDirectories(trace.toAbsolutePath().getParent());
        JniUtils.startProfile(false, false, false);
        long t0 = System.nanoTime();
        long wallNanos;
        try {
            work.run();
        } finally {
            wallNanos = System.nanoTime() - t0;
            JniUtils.stopProfile(trace.toString());
        }
        try (Reader r = Files.newBufferedReader(trace)) {
            return new Profile(selfTimes(JsonParser.parseReader(r)), wallNanos / 1e6);
        }
    }

    /**
     * Self time per operator name from a Chrome trace ({@code traceEvents} of complete events, "ph": "X", with
     * {@code ts} and {@code dur} in microseconds), largest first. Events nest by time on each (pid, tid).
     */
    static List<Row> selfTimes(JsonElement traceJson) {
        JsonArray events = traceJson.isJsonObject() ? traceJson.getAsJsonObject().getAsJsonArray("traceEvents")
                : traceJson.getAsJsonArray();
        Map<String, List<double[]>> byThread = new HashMap<>();   // thread -> [ts, dur, nameIndex]
        List<String> names = new ArrayList<>();
        Map<String, Integer> nameIndex = new HashMap<>();
        for (JsonElement el : events) {
            JsonObject e = el.getAsJsonObject();
            if (!e.has("ph") || !"X".equals(e.get("ph").getAsString()) || !e.has("dur")) {
                continue;
            }
            String name = e.get("name").getAsString();
            int idx = nameIndex.computeIfAbsent(name, n -> {
                names.add(n);
                return names.size() - 1;
            });
            String thread = (e.has("pid") ? e.get("pid").getAsString() : "") + "/" + (e.has("tid") ? e.get("tid").getAsString() : "");
            byThread.computeIfAbsent(thread, k -> new ArrayList<>())
                    .add(new double[] {e.get("ts").getAsDouble(), e.get("dur").getAsDouble(), idx});
        }
        double[] self = new double[names.size()];
        int[] calls = new int[names.size()];
        for (List<double[]> list : byThread.values()) {
            // parents first: by start, then the longer one
            list.sort(Comparator.<double[]>comparingDouble(a -> a[0]).thenComparing(a -> -a[1]));
            Deque<double[]> open = new ArrayDeque<>();
            for (double[] ev : list) {
                while (!open.isEmpty() && open.peek()[0] + open.peek()[1] <= ev[0]) {
                    open.pop();
                }
                int i = (int) ev[2];
                self[i] += ev[1];
                calls[i]++;
                if (!open.isEmpty()) {
                    self[(int) open.peek()[2]] -= ev[1];    // the parent's time spent in this child
                }
                open.push(ev);
            }
        }
        double total = 0;
        for (double s : self) {
            total += s;
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < self.length; i++) {
            rows.add(new Row(names.get(i), self[i] / 1000, calls[i], total > 0 ? self[i] / total : 0));
        }
        rows.sort(Comparator.comparingDouble(Row::selfMs).reversed());
        return rows;
    }

    /**
     * The first {@code top} rows as a table, with the total self time and, when the wall time is known (above 0), the
     * time outside PyTorch's operators: Java, DJL's calls into the natives, waiting (the profiler adds some to both).
     */
    static String table(String title, List<Row> rows, int top, double wallMs) {
        double total = rows.stream().mapToDouble(Row::selfMs).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s: %.0f ms of operator self time", title, total));
        if (wallMs > 0) {
            sb.append(String.format(Locale.ROOT, " in %.0f ms of wall time (%.0f ms outside the operators)",
                    wallMs, Math.max(0, wallMs - total)));
        }
        sb.append(System.lineSeparator());
        sb.append(String.format(Locale.ROOT, "  %9s %6s %6s  %s%n", "self ms", "share", "calls", "operator"));
        for (Row r : rows.subList(0, Math.min(top, rows.size()))) {
            sb.append(String.format(Locale.ROOT, "  %9.1f %5.1f%% %6d  %s%n", r.selfMs(), 100 * r.share(), r.calls(), r.name()));
        }
        return sb.toString();
    }
}
