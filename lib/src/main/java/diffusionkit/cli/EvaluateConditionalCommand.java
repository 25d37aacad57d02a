package diffusionkit.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.classify.Classifier;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.conditional.ConditionalSampler;
import diffusionkit.conditional.SampleAccuracy;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.training.LossTable;
import diffusionkit.util.DeviceChoice;
import diffusionkit.viz.Charts;
import diffusionkit.viz.ImageGrid;
import diffusionkit.viz.LossComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The measurement of the class-conditioned model's card: samples of each digit with DDIM from a fixed seed, with and
 * without classifier-free guidance, judged by a classifier, one per-digit table per guidance scale.
 */
@Command(name = "evaluate-conditional", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample each digit from a class-conditioned model (DDIM, fixed seed), with and without",
                "classifier-free guidance, and print how many the classifier recognises, per digit.",
                "Example: ./kit evaluate-conditional --guidance 1,3 --png runs/eval/mnist"})
final class EvaluateConditionalCommand extends KitCommand {

    @Option(names = "--model", description = "a class-conditioned model folder (default: ${DEFAULT-VALUE})")
    Path model = Path.of("datasets/models/mnist-conditional");

    @Option(names = "--classifier", description = "the judging classifier's folder (default: ${DEFAULT-VALUE})")
    Path classifier = Path.of("datasets/models/mnist-classifier");

    @Option(names = "--per-class", description = "samples of each class (default: ${DEFAULT-VALUE})")
    int perClass = 8;

    @Option(names = "--steps", description = "DDIM steps (default: ${DEFAULT-VALUE})")
    int steps = 50;

    @Option(names = "--seed", description = "seed of the starting noise (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--guidance", split = ",", description = "classifier-free guidance scales; 1 is the plain "
            + "conditional model (default: ${DEFAULT-VALUE})")
    List<Double> guidance = List.of(1.0, 3.0);

    @Option(names = "--png", description = "also write <prefix>_w<scale>.png grids (and <prefix>_loss.png from the "
            + "model's loss.csv when it has one)")
    String png;

    @Override
    public Integer call() throws Exception {
        positive("--per-class", perClass);
        positive("--steps", steps);
        try (NDManager m = NDManager.newBaseManager(DeviceChoice.device());
                ClassConditionedUNet net = ClassConditionedUNet.fromPretrained(model, m);
                Classifier judge = Classifier.load(classifier, m)) {
            Path lossCsv = model.resolve(LossTable.FILE_NAME);
            if (png != null && Files.isRegularFile(lossCsv)) {
                ImageGrid.savePng(Charts.toImage(Charts.lossChart(LossComparison.readLosses(lossCsv), 50)),
                        Path.of(png + "_loss.png"));
            }
            Scheduler ddim = ConditionalSampler.ddim(ClassConditionedUNet.courseScheduler());
            long[] labels = ConditionalSampler.repeatedLabels(net.numClasses(), perClass);
            for (double w : guidance) {
                String scale = w == Math.rint(w) ? Long.toString((long) w) : Double.toString(w); // "1", "3", "1.5"
                long t0 = System.nanoTime();
                try (NDManager sm = m.newSubManager()) {
                    NDArray x = ConditionalSampler.sample(net, ddim, labels, steps, seed, w, sm);
                    double sec = (System.nanoTime() - t0) / 1e9;
                    SampleAccuracy acc = SampleAccuracy.judge(judge, x, labels);
                    String title = String.format(Locale.ROOT, "%s: %d per class, DDIM %d steps, seed %d, guidance w = %s",
                            model.getFileName(), perClass, steps, seed, scale);
                    System.out.println(acc.table(title, null).printAll());
                    System.out.printf(Locale.ROOT, "accuracy %.4f (w = %s, %.0f s to sample)%n%n", acc.accuracy(), scale, sec);
                    if (png != null) {
                        ImageGrid.savePng(ImageGrid.show(x, perClass),
                                Path.of(png + "_w" + scale.replace('.', '_') + ".png"));
                    }
                }
            }
        }
        return 0;
    }
}
