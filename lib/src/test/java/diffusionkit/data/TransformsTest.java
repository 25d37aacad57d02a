package diffusionkit.data;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TransformsTest {

    @Test
    void halvingUsesPilsWidenedTriangleFilter() {
        // PIL's bilinear shrink by 2: the triangle's support widens to 2 pixels around the output centre 1.0;
        // at the edge only input pixels 0, 1, 2 reach (distances 0.25, 0.25, 0.75 in filter units), weights
        // 3/4, 3/4, 1/4 normalised to 3/7, 3/7, 1/7, along each axis.
        float[] img = new float[16];
        for (int i = 0; i < 16; i++) {
            img[i] = i;
        }
        float[] out = Transforms.resize(img, 1, 4, 4, 2, 2);
        double wx0 = (0 * 3 + 1 * 3 + 2 * 1) / 7.0;
        double wy0 = wx0 * 4; // rows are 4 apart
        assertEquals(wx0 + wy0, out[0], 1e-5);
    }

    @Test
    void aConstantImageStaysConstantAtAnySize() {
        float[] img = new float[3 * 7 * 5];
        java.util.Arrays.fill(img, 0.25f);
        for (int[] size : new int[][] {{3, 2}, {14, 10}, {7, 5}, {32, 32}}) {
            for (float v : Transforms.resize(img, 3, 7, 5, size[0], size[1])) {
                assertEquals(0.25f, v, 1e-6);
            }
        }
    }

    @Test
    void flipMirrorsEachRowAndNormaliseMapsToMinusOneOne() {
        float[] img = {0, 0.5f, 1, 1, 0.5f, 0};
        Transforms.flipHorizontal(img, 1, 2, 3);
        assertArrayEquals(new float[] {1, 0.5f, 0, 0, 0.5f, 1}, img);
        Transforms.normalizeToMinusOneOne(img);
        assertArrayEquals(new float[] {1, 0, -1, -1, 0, 1}, img);
    }

    @Test
    void batchesAreSeededAndCoverEveryImageOncePerEpoch() {
        byte[][] px = new byte[10][4];
        int[] labels = new int[10];
        for (int i = 0; i < 10; i++) {
            px[i][0] = (byte) (i * 20);
            labels[i] = i % 3;
        }
        ImageDataset d = ImageDataset.of("t", 1, 2, 2, px, labels, java.util.List.of("a", "b", "c"));
        Set<Integer> seen = new HashSet<>();
        StringBuilder order1 = new StringBuilder();
        StringBuilder order2 = new StringBuilder();
        for (int[] b : d.batches(4, 7, 0)) {
            for (int i : b) {
                assertTrue(seen.add(i));
                order1.append(i).append(',');
            }
        }
        for (int[] b : d.batches(4, 7, 0)) {
            for (int i : b) {
                order2.append(i).append(',');
            }
        }
        assertEquals(10, seen.size());
        assertEquals(order1.toString(), order2.toString());
        try (NDManager m = NDManager.newBaseManager(); var batch = d.batch(m, new int[] {3, 1}, 0)) {
            assertEquals(new ai.djl.ndarray.types.Shape(2, 1, 2, 2), batch.images().getShape());
            assertEquals(3 * 20 / 255f * 2 - 1, batch.images().getFloat(0, 0, 0, 0), 1e-6);
            assertArrayEquals(new long[] {0, 1}, batch.labels().toLongArray());
        }
        assertEquals(4, d.limit(4, 1).length());
        assertArrayEquals(new int[] {4, 3, 3}, d.countsPerClass());
    }

    @Test
    void inOrderCutsTheStoredOrder() {
        ImageDataset d = ImageDataset.of("t", 1, 1, 1, new byte[10][1], null, java.util.List.of());
        java.util.List<int[]> cuts = new java.util.ArrayList<>();
        d.inOrder(4).forEach(cuts::add);
        assertEquals(3, cuts.size());
        assertArrayEquals(new int[] {0, 1, 2, 3}, cuts.get(0));
        assertArrayEquals(new int[] {4, 5, 6, 7}, cuts.get(1));
        assertArrayEquals(new int[] {8, 9}, cuts.get(2));
        var e = assertThrows(IllegalArgumentException.class, () -> d.inOrder(0));
        assertEquals("batch size must be positive, got 0", e.getMessage());
    }

    @Test
    void preprocessRepeatsGreyIntoRgbAndRejectsBadSizes() {
        Preprocess p = Preprocess.NONE.withChannels(3);
        float[] out = p.apply(new float[] {0, 1}, 1, 1, 2, new Random(0));
        assertArrayEquals(new float[] {-1, 1, -1, 1, -1, 1}, out);
        assertThrows(IllegalArgumentException.class, () -> new Preprocess(-1, false, 0));
    }
}
