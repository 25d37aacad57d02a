package diffusionkit.cli;

import diffusionkit.viz.Charts;
import diffusionkit.viz.ImageGrid;
import diffusionkit.viz.LossComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Several training runs' losses in one chart ({@link LossComparison}), read from their {@code loss.csv}. */
@Command(name = "compare-losses", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Plot several training runs' losses in one PNG, from the loss.csv every run writes.",
                "Example: ./kit compare-losses --output loss.png --window 5 \"from emoji-base=runs/ft/loss.csv\" "
                        + "\"from scratch=runs/scratch/loss.csv\""})
final class CompareLossesCommand extends KitCommand {

    @Option(names = "--output", required = true, description = "the PNG to write")
    Path output;

    @Option(names = "--window", description = "moving average over this many steps (default: ${DEFAULT-VALUE}: raw)")
    int window = 1;

    @Option(names = "--title", description = "chart title (default: ${DEFAULT-VALUE})")
    String title = "Training loss";

    @Parameters(arity = "1..*", paramLabel = "LABEL=loss.csv", description = "one run: its label and its loss.csv")
    List<String> runs;

    @Override
    public Integer call() throws Exception {
        if (window < 1) {
            throw bad("--window must be >= 1 (1: the raw losses), got " + window);
        }
        Map<String, List<Double>> losses = new LinkedHashMap<>();
        for (String run : runs) {
            int eq = run.indexOf('=');
            if (eq <= 0) {
                throw bad("'" + run + "' is not LABEL=path/to/loss.csv");
            }
            losses.put(run.substring(0, eq), LossComparison.readLosses(Path.of(run.substring(eq + 1))));
        }
        ImageGrid.savePng(Charts.toImage(LossComparison.chart(title, losses, window)), output);
        System.out.println("wrote " + output);
        return 0;
    }
}
