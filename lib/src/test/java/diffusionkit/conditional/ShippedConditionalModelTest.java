package diffusionkit.conditional;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.classify.MnistClassifier;
import diffusionkit.data.KitHome;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped checkpoint (datasets/models/mnist-conditional) judged by the shipped classifier on a small, fixed
 * sample set. The thresholds are the accuracies measured for exactly this setting (see the model card) minus a
 * margin for floating-point differences between machines.
 */
class ShippedConditionalModelTest {

    /** Samples per digit, DDIM steps (the card's 50) and seed of this CI check: 20 samples (the card measures 80). */
    static final int PER_DIGIT = 2;
    static final int STEPS = 50;
    static final long SEED = 0;
    /**
     * Measured with this setting (MODEL_CARD.md, step-3646 checkpoint): 0.60 (12 of 20) without guidance; the threshold
     * leaves two samples of margin for floating-point differences between machines. Chance level is 0.10. With
     * classifier-free guidance (w = 3) this checkpoint measures 0.10: it barely uses its label yet (see the card), so
     * guidance has no threshold here until a longer-trained checkpoint ships; its arithmetic is tested in
     * ClassConditionedUNetTest.
     */
    static final double MIN_ACCURACY = 0.50;

    @Test
    void shippedSamplesAreRecognisedAsTheRequestedDigits() throws Exception {
        Path home = KitHome.find();
        assertNotNull(home, "run the tests inside the kit's checkout");
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                ClassConditionedUNet model = ClassConditionedUNet.fromPretrained(home.resolve("datasets/models/mnist-conditional"), m);
                MnistClassifier classifier = MnistClassifier.load(home.resolve("datasets/models/mnist-classifier"), m)) {
            assertEquals(ClassConditionedUNet.Mode.CONCAT, model.mode());
            assertTrue(model.hasNullClass());
            long[] labels = ConditionalSampler.repeatedLabels(10, PER_DIGIT);
            NDArray x = ConditionalSampler.sample(model, ConditionalSampler.ddim(ConditionalTrainer.courseScheduler()),
                    labels, STEPS, SEED, 1.0, m);
            SampleAccuracy acc = SampleAccuracy.judge(classifier, x, labels);
            System.out.println(acc.table("shipped checkpoint, CI setting, no guidance", null).printAll());
            assertTrue(acc.accuracy() >= MIN_ACCURACY, "accuracy " + acc.accuracy() + " < " + MIN_ACCURACY);
        }
    }
}
