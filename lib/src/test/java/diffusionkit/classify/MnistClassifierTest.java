package diffusionkit.classify;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.KitHome;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.io.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped MNIST classifier (datasets/models/mnist-classifier) on the MNIST test set. */
class MnistClassifierTest {

    static Path shipped() {
        Path home = KitHome.find();
        assertNotNull(home, "run the tests inside the kit's checkout");
        return home.resolve("datasets/models/mnist-classifier");
    }

    @Test
    void shippedClassifierReaches98PercentOnMnistTest() throws Exception {
        ImageDataset test = PackagedDatasets.defaults().load("mnist-test").withPreprocess(Preprocess.NONE);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); MnistClassifier c = MnistClassifier.load(shipped(), m)) {
            double acc = c.accuracy(test, 500);
            assertTrue(acc >= 0.98, "test accuracy " + acc);
        }
    }

    @Test
    void saveLoadRoundTripAndWrongFolder(@TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); MnistClassifier c = new MnistClassifier(10, 3, m)) {
            c.save(tmp.resolve("c"));
            NDArray x = m.randomUniform(-1, 1, new Shape(4, 1, 28, 28));
            try (MnistClassifier back = MnistClassifier.load(tmp.resolve("c"), m)) {
                assertArrayEquals(c.logits(x).toFloatArray(), back.logits(x).toFloatArray());
            }
            var e = assertThrows(CheckpointException.class, () -> MnistClassifier.load(tmp, m));
            assertTrue(e.getMessage().contains("lacks config.json and model.safetensors"), e.getMessage());
            var bad = assertThrows(IllegalArgumentException.class, () -> c.logits(m.zeros(new Shape(2, 3, 28, 28))));
            assertTrue(bad.getMessage().contains("[N, 1, 28, 28]"), bad.getMessage());
        }
    }

    /** Classifier.load reads either kind by its _class_name; the shipped files of both load. */
    @Test
    void oneLoaderForBothKinds() throws Exception {
        Path fashion = shipped().resolveSibling("fashion-mnist-classifier-32");
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Classifier digits = Classifier.load(shipped(), m);
                Classifier clothes = Classifier.load(fashion, m)) {
            assertTrue(digits instanceof MnistClassifier && digits.numClasses() == 10, digits.toString());
            assertTrue(clothes instanceof ImageClassifier && clothes.classNames().get(1).equals("Trouser"),
                    clothes.classNames().toString());
        }
    }

    /**
     * The 32x32 RGB Fashion-MNIST classifier grades 28x28 grey samples: SampleAccuracy.judge prepares them as the
     * classifier's training data was, and gets the same predictions as the dataset path (Preprocess at load time).
     */
    @Test
    void aClassifierReadsSamplesOfAnotherShapeAsItsTrainingData() throws Exception {
        Path fashion = shipped().resolveSibling("fashion-mnist-classifier-32");
        ImageDataset raw = PackagedDatasets.defaults().load("fashion-mnist-test").withPreprocess(Preprocess.NONE).limit(200, 0);
        int[] all = java.util.stream.IntStream.range(0, raw.length()).toArray();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Classifier clothes = Classifier.load(fashion, m);
                ImageDataset.Batch grey = raw.batch(m, all, 0);
                ImageDataset.Batch rgb = raw.withPreprocess(clothes.inputPreprocess()).batch(m, all, 0)) {
            assertEquals(new Shape(200, 1, 28, 28), grey.images().getShape());
            long[] labels = grey.labels().toLongArray();
            var judged = diffusionkit.conditional.SampleAccuracy.judge(clothes, grey.images(), labels);
            long[] expected = clothes.predict(rgb.images()).toLongArray();
            long[] fromSamples = clothes.predict(clothes.prepare(grey.images())).toLongArray();
            long same = java.util.stream.IntStream.range(0, 200).filter(i -> expected[i] == fromSamples[i]).count();
            assertEquals(200, same, "the same predictions as the dataset path");
            double datasetAccuracy = (double) java.util.stream.IntStream.range(0, 200).filter(i -> expected[i] == labels[i]).count() / 200;
            assertEquals(datasetAccuracy, judged.accuracy(), 1e-12);
            assertTrue(judged.accuracy() > 0.7, "the card says 80 % on the test set: " + judged.accuracy());
            assertTrue(clothes.prepare(rgb.images()) == rgb.images(), "images of the right shape pass unchanged");
        }
    }

    /**
     * The one training loop trains the digit classifier too: 100 steps of batch 64 (the shipped recipe's first sixth
     * of an epoch) already classify most of 1,000 test digits.
     */
    @Test
    void theOneTrainingLoopTrainsTheDigitClassifier() {
        ImageDataset train = PackagedDatasets.defaults().load("mnist").withPreprocess(Preprocess.NONE);
        ImageDataset test = PackagedDatasets.defaults().load("mnist-test").withPreprocess(Preprocess.NONE).limit(1000, 0);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); MnistClassifier c = new MnistClassifier(10, 0, m)) {
            double before = c.accuracy(test, 500);
            ClassifierTraining.Result r = ClassifierTraining.mnist().optMaxSteps(100).build().train(c, train);
            double after = c.accuracy(test, 500);
            assertTrue(r.steps() == 100 && before < 0.3 && after > 0.85, "accuracy " + before + " -> " + after);
            assertTrue(r.losses().get(99) < r.losses().get(0) / 3, r.losses().toString());
        }
    }
}
