package diffusionkit.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ImageGridTest {

    /** torchvision.utils.make_grid(x, nrow=2, padding=2) for 3 images of 2x3: a 2x2 grid, 2+2*(2+2)=10 high, 2+2*(3+2)=12 wide. */
    @Test
    void placesEachImageWhereMakeGridDoes() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] v = new float[3 * 1 * 2 * 3];
            for (int k = 0; k < 3; k++) {
                for (int i = 0; i < 6; i++) {
                    v[k * 6 + i] = k == 0 ? 1f : k == 1 ? 0f : -0.5f; // bytes 255, 128, 64
                }
            }
            NDArray x = m.create(v, new Shape(3, 1, 2, 3));
            BufferedImage g = ImageGrid.of(x, 2, 2);
            assertEquals(12, g.getWidth());
            assertEquals(10, g.getHeight());
            for (int y = 0; y < 10; y++) {
                for (int xx = 0; xx < 12; xx++) {
                    int expected = 0;
                    int row = (y - 2) / 4;
                    int col = (xx - 2) / 5;
                    boolean inImage = y >= 2 && xx >= 2 && (y - 2) % 4 < 2 && (xx - 2) % 5 < 3;
                    if (inImage) {
                        int k = row * 2 + col;
                        expected = k == 0 ? 255 : k == 1 ? 128 : k == 2 ? 64 : 0;
                    }
                    int rgb = g.getRGB(xx, y) & 0xFFFFFF;
                    assertEquals(expected * 0x010101, rgb, "pixel " + xx + "," + y);
                }
            }
        }
    }

    @Test
    void rgbChannelsLandInTheirPlaces() {
        float[] v = {1, -1, -1}; // one red pixel
        BufferedImage g = ImageGrid.of(v, 1, 3, 1, 1, 8, 0);
        assertEquals(0xFF0000, g.getRGB(0, 0) & 0xFFFFFF);
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.of(new float[4], 1, 4, 1, 1, 8, 0));
    }

    @Test
    void movingAverageIsTheMeanOfEachWindow() {
        assertArrayEquals(new double[] {2, 3, 4}, Charts.movingAverage(new double[] {1, 2, 3, 4, 5}, 3), 1e-12);
        BufferedImage img = Charts.lossCurve(List.of(1.0, 0.5, 0.25, 0.2));
        assertEquals(700, img.getWidth());
        assertEquals(400, img.getHeight());
    }

    @Test
    void datasetSummaryCountsEachClass() {
        byte[][] px = {{0, 0, 0, 0}, {(byte) 255, (byte) 255, (byte) 255, (byte) 255}, {0, 0, 0, 0}};
        var d = diffusionkit.data.ImageDataset.of("t", 1, 2, 2, px, new int[] {0, 1, 1}, List.of("a", "b"));
        var t = DatasetTables.summary(d);
        assertEquals(2, t.rowCount());
        assertEquals(1, t.intColumn("count").get(0));
        assertEquals(2, t.intColumn("count").get(1));
        assertEquals(0.5, t.doubleColumn("mean pixel").get(1), 1e-9);
        assertEquals("1x2x2", t.stringColumn("image size (CxHxW)").get(0));
    }

    /** show(): a 28- or 32-pixel image is doubled (as the notebooks showed them), a 64-pixel one is left alone. */
    @Test
    void showEnlargesSmallImagesByAWholeFactor() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray digits = m.zeros(new Shape(4, 1, 28, 28));
            BufferedImage g = ImageGrid.show(digits, 2);
            BufferedImage plain = ImageGrid.of(digits, 2);
            assertEquals(plain.getWidth() * 2, g.getWidth());
            assertEquals(plain.getRGB(5, 7), g.getRGB(10, 14));
            assertEquals(ImageGrid.of(m.zeros(new Shape(1, 3, 64, 64)), 1).getWidth(),
                    ImageGrid.show(m.zeros(new Shape(1, 3, 64, 64)), 1).getWidth());
        }
    }

    /** A swatch is its colour; above() stacks with a white gap. */
    @Test
    void swatchAndAbove() {
        BufferedImage sw = ImageGrid.swatch(new float[] {0.1f, 0.9f, 0.5f}, 3);
        assertEquals(3, sw.getWidth());
        java.awt.Color c = new java.awt.Color(sw.getRGB(2, 2));
        assertEquals(java.util.List.of(26, 230, 128), java.util.List.of(c.getRed(), c.getGreen(), c.getBlue()));
        BufferedImage top = ImageGrid.swatch(new float[] {0, 0, 0}, 4);
        BufferedImage both = ImageGrid.above(top, ImageGrid.swatch(new float[] {1, 0, 0}, 2), 3);
        assertEquals(4, both.getWidth());
        assertEquals(4 + 3 + 2, both.getHeight());
        assertEquals(0x000000, both.getRGB(0, 3) & 0xFFFFFF);
        assertEquals(0xFFFFFF, both.getRGB(0, 5) & 0xFFFFFF, "the gap");
        assertEquals(0xFF0000, both.getRGB(1, 7) & 0xFFFFFF);
        assertEquals(0xFFFFFF, both.getRGB(3, 8) & 0xFFFFFF, "right of the narrower image");
    }
}
