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
            if (Boolean.getBoolean("diffusionkit.debug")) {
                ex.printStackTrace(line.getErr());
            }
            return 1;
        });
        return cl;
    }
}
