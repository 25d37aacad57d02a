package diffusionkit.cli;

import ai.djl.ndarray.NDManager;
import diffusionkit.classify.ClassifierTraining;
import diffusionkit.classify.MnistClassifier;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

/** Trains the digit classifier that grades class-conditioned samples ({@link MnistClassifier}) and saves it. */
@Command(name = "train-classifier", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the 28x28 digit classifier (MnistClassifier) that grades the class-conditioned samples,",
                "print its test accuracy and save it. The shipped datasets/models/mnist-classifier is",
                "./kit train-classifier --output datasets/models/mnist-classifier (2 epochs, about 2 minutes on 2 cores)."})
final class TrainClassifierCommand extends KitCommand {

    @Option(names = "--output", required = true, description = "the folder to save the classifier into")
    Path output;

    @Option(names = "--dataset", description = "labelled 28x28 training set (default: ${DEFAULT-VALUE})")
    String dataset = "mnist";

    @Option(names = "--test_dataset", description = "labelled set to measure the accuracy on (default: ${DEFAULT-VALUE})")
    String testDataset = "mnist-test";

    @Option(names = "--epochs", description = "passes over the training set (default: ${DEFAULT-VALUE})")
    int epochs = 2;

    @Option(names = "--seed", description = "seed of the initial weights and the batch order (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws Exception {
        positive("--epochs", epochs);
        ImageDataset train = PackagedDatasets.defaults().load(dataset).withPreprocess(Preprocess.NONE);
        ImageDataset test = PackagedDatasets.defaults().load(testDataset).withPreprocess(Preprocess.NONE);
        long t0 = System.nanoTime();
        try (NDManager m = NDManager.newBaseManager(DeviceChoice.device());
                MnistClassifier c = new MnistClassifier(train.classNames().size(), seed, m)) {
            ClassifierTraining.Result r = ClassifierTraining.mnist().optEpochs(epochs).optSeed(seed)
                    .optListener((step, loss) -> {
                        if ((step + 1) % 100 == 0) {
                            System.out.printf(Locale.ROOT, "step %d: loss %.4f (%.0f s)%n", step + 1, loss,
                                    (System.nanoTime() - t0) / 1e9);
                        }
                    }).build().train(c, train);
            double acc = c.accuracy(test, 500);
            System.out.printf(Locale.ROOT, "%d epochs, %d steps, %.0f s; test accuracy on %s: %.4f%n", epochs, r.steps(),
                    r.seconds(), testDataset, acc);
            c.save(output);
            System.out.println("saved " + output);
        }
        return 0;
    }
}
