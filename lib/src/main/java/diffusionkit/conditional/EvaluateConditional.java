package diffusionkit.conditional;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.classify.MnistClassifier;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.training.LossTable;
import diffusionkit.viz.ImageGrid;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The measurement of the model card: samples 8 of each digit with 50-step DDIM from fixed seeds, with and without
 * classifier-free guidance, judges them with the shipped classifier and prints the per-digit tables.
 *
 * <pre>
 * java ... diffusionkit.conditional.EvaluateConditional [model folder] [classifier folder] [per digit] [steps]
 *     [seed] [guidance scales, comma separated] [grid PNG prefix]
 * defaults: datasets/models/mnist-conditional datasets/models/mnist-classifier 8 50 0 1,3 (no PNG)
 * </pre>
 * A scale of 1 is the plain conditional model (no guidance).
 */
public final class EvaluateConditional {

    private EvaluateConditional() {
    }

    /** Entry point; see the class javadoc. */
    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(arg(args, 0, "datasets/models/mnist-conditional"));
        Path classifierDir = Path.of(arg(args, 1, "datasets/models/mnist-classifier"));
        int perClass = Integer.parseInt(arg(args, 2, "8"));
        int steps = Integer.parseInt(arg(args, 3, "50"));
        long seed = Long.parseLong(arg(args, 4, "0"));
        String[] scales = arg(args, 5, "1,3").split(",");
        String png = arg(args, 6, null);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu());
                ClassConditionedUNet model = ClassConditionedUNet.fromPretrained(modelDir, m);
                MnistClassifier classifier = MnistClassifier.load(classifierDir, m)) {
            Path lossCsv = modelDir.resolve(LossTable.FILE_NAME);
            if (png != null && java.nio.file.Files.isRegularFile(lossCsv)) {
                java.util.List<Double> losses = new java.util.ArrayList<>();
                var column = tech.tablesaw.api.Table.read().csv(lossCsv.toString()).numberColumn("loss");
                for (int i = 0; i < column.size(); i++) {
                    losses.add(column.getDouble(i));
                }
                ImageGrid.savePng(diffusionkit.viz.Charts.toImage(diffusionkit.viz.Charts.lossChart(losses, 50)),
                        Path.of(png + "_loss.png"));
            }
            Scheduler ddim = ConditionalSampler.ddim(ClassConditionedUNet.courseScheduler());
            long[] labels = ConditionalSampler.repeatedLabels(model.numClasses(), perClass);
            for (String s : scales) {
                double w = Double.parseDouble(s);
                long t0 = System.nanoTime();
                try (NDManager sm = m.newSubManager()) {
                    NDArray x = ConditionalSampler.sample(model, ddim, labels, steps, seed, w, sm);
                    double sec = (System.nanoTime() - t0) / 1e9;
                    SampleAccuracy acc = SampleAccuracy.judge(classifier, x, labels);
                    String title = String.format(Locale.ROOT, "%s: %d per digit, DDIM %d steps, seed %d, guidance w = %s",
                            modelDir.getFileName(), perClass, steps, seed, s);
                    System.out.println(acc.table(title, null).printAll());
                    System.out.printf(Locale.ROOT, "accuracy %.4f (w = %s, %.0f s to sample)%n%n", acc.accuracy(), s, sec);
                    if (png != null) {
                        ImageGrid.savePng(ImageGrid.upscale(ImageGrid.of(x, perClass), 2),
                                Path.of(png + "_w" + s.replace('.', '_') + ".png"));
                    }
                }
            }
        }
    }

    private static String arg(String[] a, int i, String def) {
        return a.length > i ? a[i] : def;
    }
}
