package diffusionkit.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

class PreprocessTest {

    /**
     * A batch already in [-1, 1] (generated 28x28 grey samples) put through {@code applyTo} equals the same images
     * loaded through the dataset with that Preprocess: what a 32x32 RGB classifier was trained on.
     */
    @Test
    void applyToEqualsTheDatasetPath() {
        Random r = new Random(3);
        int n = 5;
        byte[][] pixels = new byte[n][28 * 28];
        for (byte[] p : pixels) {
            r.nextBytes(p);
        }
        ImageDataset grey = ImageDataset.of("grey", 1, 28, 28, pixels, new int[n], List.of("a"));
        Preprocess toRgb32 = Preprocess.NONE.withImageSize(32).withChannels(3);
        int[] all = IntStream.range(0, n).toArray();
        try (NDManager m = NDManager.newBaseManager();
                ImageDataset.Batch raw = grey.batch(m, all, 0);
                ImageDataset.Batch expected = grey.withPreprocess(toRgb32).batch(m, all, 0)) {
            NDArray got = toRgb32.applyTo(raw.images());
            assertEquals(new Shape(n, 3, 32, 32), got.getShape());
            assertArrayEquals(expected.images().toFloatArray(), got.toFloatArray(), 1e-5f);
            assertEquals(raw.images().getShape(), Preprocess.NONE.applyTo(raw.images()).getShape(), "NONE keeps the shape");
            assertArrayEquals(raw.images().toFloatArray(), Preprocess.NONE.applyTo(raw.images()).toFloatArray(), 1e-6f);
            assertThrows(IllegalArgumentException.class, () -> toRgb32.applyTo(raw.images().reshape(n, 28, 28)));
        }
    }
}
