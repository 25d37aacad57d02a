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

    /** Samples per digit, DDIM steps, seed and guidance scale of this CI check. */
    static final int PER_DIGIT = 2;
    static final int STEPS = 10;
    static final long SEED = 0;
    static final double GUIDANCE = 3.0;
    /** Measured with the setting above (MODEL_CARD.md): 0.15 (3 of 20; digits 2 and 3 recognised), chance level is 0.10. */
    static final double MIN_ACCURACY = 0.05;

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
                    labels, STEPS, SEED, GUIDANCE, m);
            SampleAccuracy acc = SampleAccuracy.judge(classifier, x, labels);
            System.out.println(acc.table("shipped checkpoint, CI setting", null).printAll());
            assertTrue(acc.accuracy() >= MIN_ACCURACY, "accuracy " + acc.accuracy() + " < " + MIN_ACCURACY);
        }
    }
}
