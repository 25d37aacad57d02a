package diffusionkit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The kit's command line: {@code ./kit <command> [options]}. Run {@code ./kit --help} for the list, and
 * {@code ./kit <command> --help} for each command's options and defaults.
 */
@Command(name = "kit", mixinStandardHelpOptions = true, versionProvider = Versions.class,
        description = "diffusion-kit: Unit 2 of the Hugging Face Diffusion Models course, in Java.",
        subcommands = {InfoCommand.class, FetchDataCommand.class, PretrainCommand.class, FinetuneCommand.class,
                SampleCommand.class, TrainConditionalCommand.class, DemoCommand.class,
                BenchmarkCommand.class, CompareLossesCommand.class, TrainClassifierCommand.class, TrainClipCommand.class,
                EvaluateConditionalCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        int code = commandLine().execute(args);
        System.exit(code);
    }

    /** The configured command line (for tests and embedding): errors print a message, not a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("error: " + ex.getMessage());
            String hint = nativeLibraryHint(ex, Main.class.getClassLoader().getResource("pytorch/cpu/") != null);
            if (hint != null) {
                line.getErr().println(hint);
            }
            if (Boolean.getBoolean("diffusionkit.debug")) {
                ex.printStackTrace(line.getErr());
            }
            return 1;
        });
        return cl;
    }

    /**
     * What to do when DJL cannot load PyTorch's native library ({@code EngineException} in the chain), or null. A GPU
     * build ({@code -Pgpu}) has no CPU natives: DJL downloads the CUDA build of libtorch at first use, which needs
     * internet (offline it says only "Failed to save pytorch index file").
     *
     * @param cpuNativesPresent whether the CPU natives jar is on the class path
     */
    static String nativeLibraryHint(Throwable ex, boolean cpuNativesPresent) {
        boolean engine = false;
        for (Throwable c = ex; c != null && !engine; c = c.getCause()) {
            engine = c instanceof ai.djl.engine.EngineException;
        }
        if (!engine) {
            return null;
        }
        if (cpuNativesPresent) {
            return "hint: DJL could not load PyTorch's CPU natives (ai.djl.pytorch:pytorch-native-cpu); rebuild with"
                    + " environment/install-kernel.sh (or mvn -B -DskipTests install) and check ./kit info.";
        }
        return "hint: this is a GPU build (-Pgpu: no CPU natives), so DJL must download the CUDA build of libtorch 2.7.1"
                + " at first use, which needs internet and -Dai.djl.offline=false (DJL_OFFLINE=false for ./kit). Without"
                + " internet, point PYTORCH_LIBRARY_PATH at a folder holding libtorch 2.7.1 (with PYTORCH_VERSION=2.7.1 and"
                + " PYTORCH_FLAVOR=cu128, or cpu), or rebuild for the CPU: environment/install-kernel.sh without --gpu."
                + " See environment/GPU.md.";
    }
}
