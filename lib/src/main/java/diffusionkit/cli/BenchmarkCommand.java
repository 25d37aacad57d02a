package diffusionkit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** Times the UNet (not a test): median forward and training-step times of the course's configurations. */
@Command(name = "benchmark", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time UNet2DModel forward passes and Adam training steps on the course's MNIST UNet (batch 80",
                "forward; batch 128 and 32 training) and a 32x32 RGB UNet (64, 128, 128, 256). Prints median and",
                "minimum wall time and the process CPU time. Example: ./kit benchmark --only unet_b --runs 3"})
final class BenchmarkCommand implements Callable<Integer> {

    @Option(names = "--warmup", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup = 2;

    @Option(names = "--runs", description = "timed runs (default: ${DEFAULT-VALUE})")
    int runs = 5;

    @Option(names = "--only", description = "unet_b or rgb32 (default: both)")
    String only;

    @Option(names = "--threads", description = "PyTorch intra-op threads (default: the engine's)")
    Integer threads;

    @Override
    public Integer call() {
        if (only != null && !only.equals("unet_b") && !only.equals("rgb32")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--only " + only + ": use unet_b or rgb32");
        }
        if (threads != null) {
            System.setProperty("ai.djl.pytorch.num_threads", threads.toString()); // before the engine starts
        }
        UNetBenchmark.run(warmup, runs, only);
        return 0;
    }
}
