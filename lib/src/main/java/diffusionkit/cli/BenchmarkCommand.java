package diffusionkit.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.util.Convolutions;
import diffusionkit.util.CpuInfo;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Times {@link UNet2DModel} (not a test): forward passes and training steps (forward, MSE loss, backward, Adam
 * update), and prints the median (and minimum) wall time of several runs after warm-up, with the process CPU time,
 * which shows when other processes competed for the cores. Weights are random (speed does not depend on them).
 *
 * <p>Cases: the course's class-conditioned MNIST UNet ({@code unet_b}: 28x28, in 5, out 1, channels
 * (32, 64, 64), DownBlock2D + 2 AttnDownBlock2D) forward at batch 80 and training at batch 128 and 32; and a
 * 32x32 RGB UNet of the course's Unit 1 (channels (64, 128, 128, 256), DownBlock2D, DownBlock2D, AttnDownBlock2D,
 * AttnDownBlock2D and the mirrored up blocks, 2 layers per block) forward at batch 80 and training at batch 128.
 * Run it with {@code ./kit}, which sets the glibc settings that keep freed memory instead of returning it to the OS
 * (this matters for the large training batches).
 *
 * <p>On cores shared with other busy processes, PyTorch's worker threads wait for each other at every
 * operation and wall times swing by 10x; then {@code --threads 1} and the process CPU time give a stable
 * measure of the work (about the wall time one free core would need).
 */
@Command(name = "benchmark", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time UNet2DModel forward passes and Adam training steps on the course's MNIST UNet (batch 80",
                "forward; batch 128 and 32 training) and a 32x32 RGB UNet (64, 128, 128, 256). Prints median and",
                "minimum wall time and the process CPU time. Example: ./kit benchmark --only unet_b --runs 3"})
final class BenchmarkCommand extends KitCommand {

    @Option(names = "--warmup", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup = 2;

    @Option(names = "--runs", description = "timed runs (default: ${DEFAULT-VALUE})")
    int runs = 5;

    @Option(names = "--only", description = "unet_b or rgb32 (default: both)")
    String only;

    @Option(names = "--threads", description = "PyTorch intra-op threads (default: the engine's)")
    Integer threads;

    @Option(names = "--sampling", description = "also images per second of 50-step DDIM (emoji-base and the MNIST "
            + "UNet at batch 1, 8 and 80)")
    boolean sampling;

    @Option(names = "--compare", description = "also run the same cases in eager PyTorch "
            + "(environment/reference/unet_eager.py, a diffusers UNet2DModel twin) in this run, with the same "
            + "environment and threads, and print both side by side; needs Python with PyTorch (Debian's python3-torch)")
    boolean compare;

    @Option(names = "--scaling", description = "also the training step's time per image at batch 8, 16, 32, 64 and 128 "
            + "(linear scaling keeps it flat)")
    boolean scaling;

    @Option(names = "--profile", description = "also where one forward (batch 80) and one training step (batch 128) "
            + "spend their time, per PyTorch operator (self time; Chrome traces under runs/benchmark-profile)")
    boolean profile;

    @Option(names = "--python", description = "the Python for --compare (default: ${DEFAULT-VALUE})")
    String python = "/usr/bin/python3";

    private final Map<String, BenchmarkComparison.Timing> timings = new java.util.LinkedHashMap<>();

    /** The course's 32x32 RGB UNet (Unit 1, "Introduction to diffusers": attention at the two lowest levels). */
    static UNet2DConfig rgb32() {
        return UNet2DConfig.defaults()
                .with("sample_size", 32).with("in_channels", 3).with("out_channels", 3)
                .with("block_out_channels", List.of(64, 128, 128, 256)).with("layers_per_block", 2)
                .with("down_block_types", List.of("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"))
                .with("up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"));
    }

    @Override
    public Integer call() {
        if (only != null && !only.equals("unet_b") && !only.equals("rgb32")) {
            throw bad("--only " + only + ": use unet_b or rgb32");
        }
        if (threads != null) {
            System.setProperty("ai.djl.pytorch.num_threads", threads.toString()); // before the engine starts
        }
        System.out.println("device: " + DeviceChoice.explain() + "; engine " + Engine.getInstance().getEngineName()
                + " " + Engine.getInstance().getVersion());
        System.out.println(diffusionkit.util.MallocSettings.describe());
        System.out.println(diffusionkit.models.FusedOps.describe());
        System.out.println(CpuInfo.describe());
        System.out.println(Convolutions.describe());
        List<String> report = new ArrayList<>();
        double matmul;
        Map<String, Double> samplingRates = new java.util.LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager(DeviceChoice.device())) {
            matmul = matmulGflops(m);
            System.out.printf(Locale.ROOT, "matmul 2048x2048 float32: %.0f GFLOP/s (median of %d)%n", matmul, Math.max(3, runs));
            Map<String, UNet2DConfig> cases = cases();
            if (cases.containsKey("unet_b")) {
                try (UNet2DModel unet = new UNet2DModel(cases.get("unet_b"), m)) {
                    report.add(time("unet_b forward bs80", () -> forward(unet, m, 80, 28)));
                    report.add(time("unet_b train step bs128", trainStep(unet, m, 128, 28)));
                    report.add(time("unet_b train step bs32", trainStep(unet, m, 32, 28)));
                }
            }
            if (cases.containsKey("rgb32")) {
                try (UNet2DModel unet = new UNet2DModel(cases.get("rgb32"), m)) {
                    report.add(time("rgb32 forward bs80", () -> forward(unet, m, 80, 32)));
                    report.add(time("rgb32 train step bs128", trainStep(unet, m, 128, 32)));
                }
            }
            if (sampling) {
                samplingRates.putAll(samplingRates(m));
            }
            if (scaling) {
                report.addAll(scaling(m));
            }
            if (profile) {
                profile(m);
            }
        }
        System.out.println("\nmedian seconds:");
        report.forEach(System.out::println);
        samplingRates.forEach((k, v) -> System.out.printf(Locale.ROOT, "50-step DDIM %-16s %8.2f images/s%n", k, v));
        if (compare) {
            int n = threads != null ? threads : Integer.parseInt(System.getProperty("ai.djl.pytorch.num_threads",
                    String.valueOf(Runtime.getRuntime().availableProcessors())));
            System.out.println("\nthe eager PyTorch reference (" + python + ", " + n + " threads, the same environment) ...");
            try {
                com.google.gson.JsonObject ref = BenchmarkComparison.runReference(python,
                        diffusionkit.data.KitHome.find().resolve("environment/reference/unet_eager.py"), n, warmup, runs, only, sampling);
                System.out.println("\n" + CpuInfo.model() + ", " + n + " threads, " + ref.get("engine").getAsString()
                        + " eager vs the kit, same run:");
                System.out.print(BenchmarkComparison.table(timings, matmul, ref));
                if (sampling) {
                    System.out.print(BenchmarkComparison.samplingTable(samplingRates, ref));
                }
            } catch (java.io.IOException e) {
                throw bad(e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }
        return 0;
    }

    /** GFLOP/s of a 2048x2048 float32 matrix product (2 * 2048^3 operations), the median of several. */
    private double matmulGflops(NDManager m) {
        try (NDManager s = m.newSubManager()) {
            NDArray a = s.randomNormal(new Shape(2048, 2048));
            NDArray b = s.randomNormal(new Shape(2048, 2048));
            a.matMul(b).toFloatArray();
            double[] t = new double[Math.max(3, runs)];
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.get(0, 0).getFloat(); // wait for the result
                }
                t[i] = (System.nanoTime() - t0) / 1e9;
            }
            return 2.0 * 2048 * 2048 * 2048 / median(t) / 1e9;
        }
    }

    /** The cases' UNets by name, as --only selects them. */
    private Map<String, UNet2DConfig> cases() {
        Map<String, UNet2DConfig> out = new java.util.LinkedHashMap<>();
        if (only == null || only.equals("unet_b")) {
            out.put("unet_b", ClassConditionedUNet.courseUNetConfig(4));
        }
        if (only == null || only.equals("rgb32")) {
            out.put("rgb32", rgb32());
        }
        return out;
    }

    /** The training step's median time per image at batch 8 to 128, and the largest over the smallest. */
    private List<String> scaling(NDManager m) {
        List<String> lines = new ArrayList<>();
        int[] batches = {8, 16, 32, 64, 128};
        for (Map.Entry<String, UNet2DConfig> c : cases().entrySet()) {
            try (UNet2DModel unet = new UNet2DModel(c.getValue(), m)) {
                StringBuilder sb = new StringBuilder(c.getKey() + " train step, ms per image at batch");
                double lo = Double.MAX_VALUE;
                double hi = 0;
                for (int b : batches) {
                    double perImage = medianSeconds(trainStep(unet, m, b, c.getValue().sampleSize()[0])).median() / b * 1000;
                    sb.append(String.format(Locale.ROOT, " %d: %.1f", b, perImage));
                    lo = Math.min(lo, perImage);
                    hi = Math.max(hi, perImage);
                }
                sb.append(String.format(Locale.ROOT, " (largest / smallest %.2f)", hi / lo));
                System.out.println(sb);
                lines.add(sb.toString());
            }
        }
        return lines;
    }

    /** Per-operator self times of one forward at batch 80 and one training step at batch 128, after a warm-up. */
    private void profile(NDManager m) {
        java.nio.file.Path home = diffusionkit.data.KitHome.find();
        java.nio.file.Path dir = (home != null ? home : java.nio.file.Path.of("")).resolve("runs/benchmark-profile");
        for (Map.Entry<String, UNet2DConfig> c : cases().entrySet()) {
            int size = c.getValue().sampleSize()[0];
            try (UNet2DModel unet = new UNet2DModel(c.getValue(), m)) {
                Runnable fwd = () -> forward(unet, m, 80, size);
                Runnable step = trainStep(unet, m, 128, size);
                fwd.run();
                step.run();
                OpProfile.Profile f = OpProfile.run(fwd, dir.resolve(c.getKey() + "-forward-bs80.json"));
                System.out.print(OpProfile.table(c.getKey() + " forward bs80", f.rows(), 12, f.wallMs()));
                OpProfile.Profile t = OpProfile.run(step, dir.resolve(c.getKey() + "-train-step-bs128.json"));
                System.out.print(OpProfile.table(c.getKey() + " train step bs128", t.rows(), 12, t.wallMs()));
            } catch (java.io.IOException e) {
                throw bad("cannot write the profile under " + dir + ": " + e.getMessage());
            }
        }
    }

    /** Images per second of 50 DDIM steps (eta 0): emoji-base's UNet and the course's MNIST model, random weights. */
    private Map<String, Double> samplingRates(NDManager m) {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        try {
            UNet2DConfig emoji = UNet2DConfig.load(diffusionkit.data.KitHome.find().resolve("datasets/models/emoji-base/unet"));
            try (UNet2DModel unet = new UNet2DModel(emoji, m); ClassConditionedUNet mnist = ClassConditionedUNet.course(m)) {
                for (int batch : new int[] {1, 8, 80}) {
                    out.put("emoji-base bs" + batch, rate(unet, batch, null));
                }
                for (int batch : new int[] {1, 8, 80}) {
                    out.put("unet_b bs" + batch, rate(mnist, batch, new long[batch]));
                }
            }
        } catch (java.io.IOException e) {
            throw bad("cannot read datasets/models/emoji-base/unet for --sampling: " + e.getMessage());
        }
        return out;
    }

    private double rate(diffusionkit.models.NoisePredictor model, int batch, long[] labels) {
        diffusionkit.schedulers.DDIMScheduler ddim = new diffusionkit.schedulers.DDIMScheduler(
                ClassConditionedUNet.courseScheduler().config());
        diffusionkit.pipelines.DiffusionPipeline pipe = new diffusionkit.pipelines.DiffusionPipeline(model, ddim);
        diffusionkit.pipelines.Sampling.Builder b = diffusionkit.pipelines.Sampling.builder().optBatchSize(batch)
                .optSeed(0).optScheduler(ddim);
        if (labels != null) {
            b.optLabels(labels);
        }
        if (warmup > 0) {
            try (diffusionkit.pipelines.PipelineOutput o = pipe.generate(b.optSteps(1).build())) {
                o.images().toFloatArray();
            }
        }
        long t0 = System.nanoTime();
        try (diffusionkit.pipelines.PipelineOutput o = pipe.generate(b.optSteps(50).build())) {
            o.images().toFloatArray();
        }
        return batch / ((System.nanoTime() - t0) / 1e9);
    }

    private static void forward(UNet2DModel unet, NDManager m, int batch, int size) {
        try (NDManager step = m.newSubManager()) {
            NDArray x = step.randomNormal(new Shape(batch, unet.config().inChannels(), size, size));
            NDArray t = step.randomInteger(0, 1000, new Shape(batch), DataType.INT64);
            unet.forward(x, t, null).toFloatArray(); // wait for the result
        }
    }

    /** One training step: forward, MSE against random noise, backward, Adam (its own, kept across the runs). */
    private static Runnable trainStep(UNet2DModel unet, NDManager m, int batch, int size) {
        Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-4f)).build();
        return () -> {
            try (NDManager step = m.newSubManager()) {
                UNet2DConfig c = unet.config();
                NDArray x = step.randomNormal(new Shape(batch, c.inChannels(), size, size));
                NDArray target = step.randomNormal(new Shape(batch, c.outChannels(), size, size));
                NDArray t = step.randomInteger(0, 1000, new Shape(batch), DataType.INT64);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray pred = unet.forward(x, t, null, true);
                    gc.backward(pred.sub(target).square().mean()); // PyTorch's MSELoss
                }
                for (Map.Entry<String, Parameter> e : unet.stateDictParameters().entrySet()) {
                    NDArray w = e.getValue().getArray();
                    try (NDArray g = w.getGradient()) {
                        adam.update(e.getKey(), w, g); // also zeroes the gradient
                    }
                }
                unet.stateDictParameters().get("conv_out.bias").getArray().toFloatArray(); // wait for the update
            }
        };
    }

    private String time(String name, Runnable r) {
        Runs t = medianSeconds(r);
        String line = String.format(Locale.ROOT, "%-26s median %7.3f s  min %7.3f s  (process CPU median %7.3f s; runs: %s)",
                name, t.median(), t.min(), t.cpuMedian(),
                Arrays.toString(Arrays.stream(t.seconds()).map(v -> Math.round(v * 1000) / 1000.0).toArray()));
        System.out.println(line);
        timings.put(name, new BenchmarkComparison.Timing(t.median(), t.min(), t.cpuMedian()));
        return line;
    }

    /** Wall seconds of each timed run, and the process CPU seconds' median. */
    private record Runs(double[] seconds, double cpuMedian) {
        double median() {
            return BenchmarkCommand.median(seconds);
        }

        double min() {
            return Arrays.stream(seconds).min().orElse(0);
        }
    }

    /** {@code --warmup} untimed runs, then {@code --runs} timed ones. */
    private Runs medianSeconds(Runnable r) {
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        double[] s = new double[runs];
        double[] cpu = new double[runs];
        for (int i = 0; i < runs; i++) {
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            r.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
            cpu[i] = (processCpuNanos() - c0) / 1e9;
        }
        return new Runs(s, median(cpu));
    }

    private static double median(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** CPU time of the whole process (all threads, native ones included), or -1 when unknown. */
    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }
}
