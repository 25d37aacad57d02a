package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ColorLossTest {

    @Test
    void parsesHexWithAndWithoutHashAndThreeNumbers() {
        float[] hex = {0x19 / 255f, 0xe6 / 255f, 0x80 / 255f};
        assertArrayEquals(hex, ColorLoss.parseColor("#19E680"), 0f);
        assertArrayEquals(hex, ColorLoss.parseColor("19e680"), 0f);
        assertArrayEquals(hex, ColorLoss.parseColor("  #19e680 "), 0f);
        float[] course = {0.1f, 0.9f, 0.5f};
        assertArrayEquals(course, ColorLoss.parseColor("0.1,0.9,0.5"), 0f);
        assertArrayEquals(course, ColorLoss.parseColor("(0.1, 0.9, 0.5)"), 0f);
        assertArrayEquals(course, ColorLoss.parseColor("0.1 0.9 0.5"), 0f);
        assertArrayEquals(new float[] {0, 1, 0}, ColorLoss.parseColor("[0, 1, 0]"), 0f);
        assertArrayEquals(course, ColorLoss.course().target(), 0f);
        assertEquals("#19e680", ColorLoss.parse("#19E680").hex());
    }

    @Test
    void badColoursNameTheInputAndTheAcceptedForms() {
        for (String bad : new String[] {"#12345", "#12345G", "red", "0.1,0.2", "0.1,0.2,0.3,0.4", "1.2,0,0", "25,230,128",
                "0.1,x,0.5", "-0.1 0.5 0.5"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ColorLoss.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("#RRGGBB") && e.getMessage().contains("0.1,0.9,0.5"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ColorLoss.parse("25,230,128"));
        assertTrue(e.getMessage().contains("red 25 is outside [0, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ColorLoss.parse(" "));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ColorLoss.of(0f, 1.5f, 0f));
        assertTrue(e.getMessage().contains("green is 1.5"), e.getMessage());
    }

    @Test
    void lossIsTheMeanAbsoluteDifferenceToTheTargetMappedToMinusOneOne() {
        try (NDManager m = NDManager.newBaseManager()) {
            // 2 images, 3 channels, 1x2 pixels
            float[] v = {
                0f, 1f, /* r */ 0.5f, -0.5f, /* g */ -1f, 1f, /* b */
                0.2f, 0.2f, /* r */ 0.8f, 0.8f, /* g */ 0f, 0f /* b */};
            NDArray x = m.create(v, new Shape(2, 3, 1, 2));
            // target (0.1, 0.9, 0.5) -> (-0.8, 0.8, 0.0) in [-1, 1]
            double[] t = {-0.8, 0.8, 0.0};
            double sum = 0;
            for (int i = 0; i < v.length; i++) {
                int c = (i / 2) % 3;
                sum += Math.abs(v[i] - t[c]);
            }
            // by hand: image 1: |0.8|+|1.8| + |-0.3|+|-1.3| + |-1|+|1| = 6.2; image 2: 1.0+1.0 + 0+0 + 0+0 = 2.0
            assertEquals(8.2, sum, 1e-6);
            assertEquals(8.2 / 12, ColorLoss.course().loss(x).getFloat(), 1e-6);
            assertEquals(0.0, ColorLoss.of(0.5f, 0.5f, 0.5f).loss(m.zeros(new Shape(1, 3, 4, 4))).getFloat(), 0.0);
            assertThrows(IllegalArgumentException.class, () -> ColorLoss.course().loss(m.zeros(new Shape(1, 1, 4, 4))));
        }
    }
}
