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
            double acc = c.accuracy(test);
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
            assertTrue(e.getMessage().contains("not a MnistClassifier folder"), e.getMessage());
            var bad = assertThrows(IllegalArgumentException.class, () -> c.logits(m.zeros(new Shape(2, 3, 28, 28))));
            assertTrue(bad.getMessage().contains("[N, 1, 28, 28]"), bad.getMessage());
        }
    }
}
