package diffusionkit.guidance;

import diffusionkit.classify.ClassifierTraining;
import diffusionkit.classify.ImageClassifier;
import diffusionkit.classify.Classifier;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.io.CheckpointException;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Classifier guidance with a small classifier of Fashion-MNIST at 16x16 RGB. The classifier used for guidance is a
 * fixture ({@code guidance/fashion_classifier_16}: 24k parameters, trained by {@link ClassifierTraining} on 20,000
 * training images for one epoch, 313 steps of 64, noise augmentation 0.2, seed 7; 76.9% on the 10,000 test images);
 * a shorter training run is tested here as well.
 */
class ClassifierGuidanceTest {

    static final int SIZE = 16;
    static final Path FIXTURE = Path.of("src/test/resources/guidance/fashion_classifier_16");
    static final Preprocess PREPROCESS = Preprocess.NONE.withImageSize(SIZE).withChannels(3);
    static NDManager manager;
    static ImageClassifier classifier;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        classifier = ImageClassifier.load(FIXTURE, manager);
    }

    @AfterAll
    static void close() {
        classifier.close();
        manager.close();
    }

    @Test
    void aShortTrainingRunLearnsFashionMnist() {
        ImageDataset train = PackagedDatasets.defaults().load("fashion-mnist-train").withPreprocess(PREPROCESS).limit(1600, 1);
        ImageDataset test = PackagedDatasets.defaults().load("fashion-mnist-test").withPreprocess(PREPROCESS).limit(500, 2);
        Engine.getInstance().setRandomSeed(7);                           // the layers' initialisation
        try (ImageClassifier c = new ImageClassifier(new ImageClassifier.Config(3, SIZE, new int[] {8, 16, 32},
                train.classNames()), manager)) {
            ClassifierTraining.Result r = ClassifierTraining.builder().optBatchSize(50).optLearningRate(5e-3).optSeed(7)
                    .build().train(c, train);
            double acc = c.accuracy(test, 250);
            List<Double> l = r.losses();
            double last = l.subList(l.size() - 5, l.size()).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            System.out.printf("short run: %d steps in %.1f s, loss %.3f -> %.3f, test accuracy %.3f%n", r.steps(),
                    r.seconds(), l.get(0), last, acc);
            assertEquals(32, r.steps());                                  // 1600 / 50
            assertEquals(Math.log(10), l.get(0), 0.15, "an untrained 10-class classifier starts near ln 10");
            assertTrue(last < l.get(0) - 0.2, "loss " + l.get(0) + " -> " + last);
            assertTrue(acc > 0.25, "test accuracy " + acc + " (chance: 0.10)");
            for (NDArray p : c.stateDict().values()) {
                assertFalse(p.hasGradient(), "after training the parameters must not require gradients");
            }
        }
    }

    @Test
    void theFixtureClassifierIsSensible() {
        ImageDataset test = PackagedDatasets.defaults().load("fashion-mnist-test").withPreprocess(PREPROCESS).limit(2000, 3);
        double acc = classifier.accuracy(test, 500);
        System.out.printf("fixture classifier: test accuracy %.3f on 2000 images%n", acc);
        assertTrue(acc > 0.72, "test accuracy " + acc);
    }

    @Test
    void thePackagedClassifierLoadsAndClassifies() throws Exception {
        Path folder = Path.of("../datasets/models/fashion-mnist-classifier-32");
        Preprocess p32 = Preprocess.NONE.withImageSize(32).withChannels(3);
        ImageDataset test = PackagedDatasets.defaults().load("fashion-mnist-test").withPreprocess(p32).limit(1000, 4);
        try (ImageClassifier c = ImageClassifier.load(folder, manager)) {
            assertEquals(32, c.config().imageSize());
            assertEquals(PackagedDatasets.FASHION_CLASSES, c.classNames());
            double acc = c.accuracy(test, 500);
            System.out.printf("packaged 32x32 classifier: test accuracy %.3f on 1000 images%n", acc);
            assertTrue(acc > 0.77, "test accuracy " + acc + " (its model card says 80.1% on the whole test split)");
        }
    }

    /**
     * 32 samples of the Gaussian test model ({@link GaussianImageModel}: one colour per image plus pixel noise), 10
     * DDIM steps, variant 2 at scale 50: unguided, the classifier calls none of them "Trouser"; guided, most.
     * (Variant 1 drives x̂_0 of the last steps far outside [-1, 1]; the clamped samples then lose the class: it
     * reaches 3 of 32 at scales 50 to 2000.)
     */
    @Test
    void classifierGuidanceRaisesTheShareOfTheWantedClass() {
        DDIMScheduler ddim = new DDIMScheduler(SchedulerConfig.of(SchedulerConfig.DDIM)
                .with(SchedulerConfig.CLIP_SAMPLE, false));
        GaussianImageModel model = new GaussianImageModel(ddim.alphasCumprod(), manager);
        int wanted = PackagedDatasets.FASHION_CLASSES.indexOf("Trouser");
        double[] share = new double[2];
        double[] scales = {0, 50};
        for (int k = 0; k < 2; k++) {
            GuidedSampler s = GuidedSampler.builder().setModel(model).setScheduler(ddim).optImageShape(3, SIZE, SIZE)
                    .setLoss(ClassifierGuidance.of(classifier, "Trouser")).optVariant(GuidanceVariant.THROUGH_UNET)
                    .optGuidanceScale(scales[k]).build();
            try (GuidedOutput o = s.sample(32, 10, 5)) {
                share[k] = classifier.predict(o.images()).eq(wanted).sum().getLong() / 32.0;
            }
        }
        System.out.printf("share of 'Trouser': unguided %.3f, guided %.3f%n", share[0], share[1]);
        assertTrue(share[1] >= share[0] + 0.4, "guided " + share[1] + " vs unguided " + share[0]);
    }

    @Test
    void saveAndLoadGiveTheSameLogits(@TempDir Path tmp) throws Exception {
        Path folder = tmp.resolve("clf");
        classifier.save(folder);
        assertTrue(Files.isRegularFile(folder.resolve("config.json")) && Files.isRegularFile(folder.resolve("model.safetensors")));
        try (ImageClassifier back = ImageClassifier.load(folder, manager); NDManager m = manager.newSubManager()) {
            NDArray x = m.randomUniform(-1, 1, new ai.djl.ndarray.types.Shape(3, 3, SIZE, SIZE));
            assertArrayEquals(classifier.logits(x).toFloatArray(), back.logits(x).toFloatArray(), 0f);
            assertEquals(classifier.classNames(), back.classNames());
        }
        Files.delete(folder.resolve("model.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ImageClassifier.load(folder, manager));
        assertTrue(e.getMessage().contains("lacks model.safetensors"), e.getMessage());
    }

    @Test
    void crossEntropyIsTheHandComputedValue() {
        try (NDManager m = manager.newSubManager()) {
            NDArray logits = m.create(new float[] {1, 2, 3, 0, 0, 0}, new ai.djl.ndarray.types.Shape(2, 3));
            NDArray labels = m.create(new long[] {2, 0});
            // −log softmax: sample 1: log(e + e² + e³) − 3; sample 2: log 3
            double expected = (Math.log(Math.E + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
            assertEquals(expected, Classifier.crossEntropy(logits, labels).getFloat(), 1e-6);
        }
        assertThrows(IllegalArgumentException.class, () -> ClassifierGuidance.of(classifier, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassifierGuidance.of(classifier, "Shoe"));
        assertTrue(e.getMessage().contains("Ankle boot"), e.getMessage());
    }

}
