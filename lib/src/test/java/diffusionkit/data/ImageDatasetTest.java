package diffusionkit.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Joining two datasets: the images and labels of the first, then of the second, each unchanged. */
class ImageDatasetTest {

    static ImageDataset set(String name, int n, int offset, List<String> classes) {
        byte[][] pixels = new byte[n][];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            pixels[i] = new byte[] {(byte) (offset + i), (byte) (offset + 2 * i), 7, 9};
            labels[i] = (offset + i) % classes.size();
        }
        return ImageDataset.of(name, 1, 2, 2, pixels, labels, classes);
    }

    @Test
    void concatKeepsEveryImageAndLabelInOrder() {
        List<String> classes = List.of("a", "b", "c");
        ImageDataset first = set("first", 3, 0, classes);
        ImageDataset second = set("second", 2, 100, classes);
        ImageDataset both = ImageDataset.concat("both", first, second);
        assertEquals(5, both.length());
        assertEquals("both", both.name());
        assertEquals(classes, both.classNames());
        for (int i = 0; i < 5; i++) {
            ImageDataset from = i < 3 ? first : second;
            int j = i < 3 ? i : i - 3;
            assertArrayEquals(from.rawImage(j), both.rawImage(i), "image " + i);
            assertEquals(from.label(j), both.label(i), "label " + i);
        }
        assertThrows(IllegalArgumentException.class,
                () -> ImageDataset.concat("x", first, set("other", 2, 0, List.of("a", "b"))));
    }
}
