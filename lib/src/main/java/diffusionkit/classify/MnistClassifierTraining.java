package diffusionkit.classify;

import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;

import java.nio.file.Path;

/**
 * Trains {@link MnistClassifier} and saves it: {@code java ... diffusionkit.classify.MnistClassifierTraining
 * [output folder, default datasets/models/mnist-classifier] [epochs, default 2] [train dataset, default mnist]
 * [test dataset, default mnist-test]}. Prints the test accuracy.
 */
public final class MnistClassifierTraining {

    private MnistClassifierTraining() {
    }

    /** Entry point; see the class javadoc for the arguments. */
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "datasets/models/mnist-classifier");
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        String train = args.length > 2 ? args[2] : "mnist";
        String test = args.length > 3 ? args[3] : "mnist-test";
        ImageDataset tr = PackagedDatasets.defaults().load(train).withPreprocess(Preprocess.NONE);
        ImageDataset te = PackagedDatasets.defaults().load(test).withPreprocess(Preprocess.NONE);
        long t0 = System.nanoTime();
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu());
                MnistClassifier c = new MnistClassifier(10, 0, m)) {
            c.train(tr, epochs, 64, 1e-3, 0, s -> {
                if (s % 100 == 0) {
                    System.out.printf("step %d (%.0f s)%n", s, (System.nanoTime() - t0) / 1e9);
                }
            });
            double acc = c.accuracy(te);
            System.out.printf("%d epochs, %.0f s; test accuracy on %s: %.4f%n", epochs, (System.nanoTime() - t0) / 1e9,
                    test, acc);
            c.save(out);
            System.out.println("saved " + out);
        }
    }
}
