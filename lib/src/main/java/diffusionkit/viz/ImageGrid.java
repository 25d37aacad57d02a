package diffusionkit.viz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.awt.image.BufferedImage;

/**
 * Image grids like torchvision's {@code make_grid} + {@code save_image}: images side by side, {@code nrow} per
 * row, {@code padding} pixels of black around and between them; values in [-1, 1] mapped to bytes as
 * {@code clamp((x + 1) / 2 * 255 + 0.5)}.
 */
public final class ImageGrid {

    /** torchvision's default padding. */
    public static final int PADDING = 2;

    private ImageGrid() {}

    /** A grid of an NCHW array in [-1, 1] (1 or 3 channels), 8 images per row, padding 2. */
    public static BufferedImage of(NDArray images) {
        return of(images, 8, PADDING);
    }

    /** A grid of an NCHW array in [-1, 1] with {@code nrow} images per row. */
    public static BufferedImage of(NDArray images, int nrow) {
        return of(images, nrow, PADDING);
    }

    /**
     * A grid of an NCHW (or CHW, one image) array in [-1, 1], 1 or 3 channels.
     *
     * @param nrow images per row (torchvision's name; it is the number of columns)
     * @param padding pixels between and around images
     */
    public static BufferedImage of(NDArray images, int nrow, int padding) {
        Shape s = images.getShape();
        if (s.dimension() == 3) {
            s = new Shape(1, s.get(0), s.get(1), s.get(2));
        }
        if (s.dimension() != 4) {
            throw new IllegalArgumentException("an image grid needs an NCHW array, got shape " + images.getShape());
        }
        float[] data = images.toType(DataType.FLOAT32, false).toFloatArray();
        return of(data, (int) s.get(0), (int) s.get(1), (int) s.get(2), (int) s.get(3), nrow, padding);
    }

    /** A grid from NCHW floats in [-1, 1]. */
    public static BufferedImage of(float[] nchw, int n, int c, int h, int w, int nrow, int padding) {
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("images must have 1 or 3 channels, got " + c);
        }
        if (nrow <= 0 || padding < 0) {
            throw new IllegalArgumentException("nrow must be positive and padding non-negative");
        }
        int cols = Math.min(nrow, n);
        int rows = (n + cols - 1) / cols;
        int cellH = h + padding;
        int cellW = w + padding;
        int gridH = rows * cellH + padding;
        int gridW = cols * cellW + padding;
        BufferedImage out = new BufferedImage(gridW, gridH, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int k = 0; k < n; k++) {
            int y0 = (k / cols) * cellH + padding;
            int x0 = (k % cols) * cellW + padding;
            int base = k * c * plane;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int i = base + y * w + x;
                    int r = toByte(nchw[i]);
                    int g = c == 3 ? toByte(nchw[i + plane]) : r;
                    int b = c == 3 ? toByte(nchw[i + 2 * plane]) : r;
                    out.setRGB(x0 + x, y0 + y, (r << 16) | (g << 8) | b);
                }
            }
        }
        return out;
    }

    /** Maps [-1, 1] to a byte the way torchvision's {@code save_image} does after {@code (x + 1) / 2}. */
    static int toByte(float v) {
        float x = ((v + 1f) / 2f) * 255f + 0.5f;
        return (int) Math.max(0, Math.min(255, x));
    }

    /** Scales an image up by an integer factor with nearest neighbours (small images read better in notebooks). */
    public static BufferedImage upscale(BufferedImage img, int factor) {
        if (factor <= 1) {
            return img;
        }
        BufferedImage out = new BufferedImage(img.getWidth() * factor, img.getHeight() * factor, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < out.getHeight(); y++) {
            for (int x = 0; x < out.getWidth(); x++) {
                out.setRGB(x, y, img.getRGB(x / factor, y / factor));
            }
        }
        return out;
    }

    /** The width, in pixels, below which {@link #show} enlarges images. */
    public static final int SHOW_MIN_SIZE = 64;

    /**
     * A grid of NCHW images in [-1, 1], {@code nrow} per row, enlarged by a whole factor when they are smaller than
     * {@value #SHOW_MIN_SIZE} pixels (a 32-pixel emoji or a 28-pixel digit is shown twice as large): what the
     * notebooks display.
     */
    public static BufferedImage show(NDArray images, int nrow) {
        long width = images.getShape().get(images.getShape().dimension() - 1);
        return upscale(of(images, nrow), (int) Math.max(1, SHOW_MIN_SIZE / width));
    }

    /** A square of one colour (RGB in [0, 1]), e.g. the target of colour guidance beside its grid. */
    public static BufferedImage swatch(float[] rgb, int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        var g = img.createGraphics();
        g.setColor(new java.awt.Color(rgb[0], rgb[1], rgb[2]));
        g.fillRect(0, 0, size, size);
        g.dispose();
        return img;
    }

    /**
     * {@code image} with {@code label} written on a white band of {@code labelWidth} pixels to its left (vertically
     * centred, dark grey, the default sans-serif font at 12 pixels): a row of a figure, named.
     */
    public static BufferedImage labelled(String label, BufferedImage image, int labelWidth) {
        BufferedImage out = new BufferedImage(labelWidth + image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = out.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        g.drawImage(image, labelWidth, 0, null);
        g.setRenderingHint(java.awt.RenderingHints.KEY_TEXT_ANTIALIASING, java.awt.RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(new java.awt.Color(0x33, 0x33, 0x33));
        g.setFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 12));
        java.awt.FontMetrics fm = g.getFontMetrics();
        g.drawString(label, 4, (image.getHeight() + fm.getAscent() - fm.getDescent()) / 2);
        g.dispose();
        return out;
    }

    /** Places one image above another with a white gap (e.g. samples before and after fine-tuning). */
    public static BufferedImage above(BufferedImage top, BufferedImage bottom, int gap) {
        int w = Math.max(top.getWidth(), bottom.getWidth());
        BufferedImage out = new BufferedImage(w, top.getHeight() + gap + bottom.getHeight(), BufferedImage.TYPE_INT_RGB);
        var g = out.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, w, out.getHeight());
        g.drawImage(top, 0, 0, null);
        g.drawImage(bottom, 0, top.getHeight() + gap, null);
        g.dispose();
        return out;
    }

    /** Places images side by side with a gap (e.g. "current x" beside "predicted x0"). */
    public static BufferedImage sideBySide(BufferedImage left, BufferedImage right, int gap) {
        int h = Math.max(left.getHeight(), right.getHeight());
        BufferedImage out = new BufferedImage(left.getWidth() + gap + right.getWidth(), h, BufferedImage.TYPE_INT_RGB);
        var g = out.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), h);
        g.drawImage(left, 0, 0, null);
        g.drawImage(right, left.getWidth() + gap, 0, null);
        g.dispose();
        return out;
    }

    /** Writes an image as PNG atomically. */
    public static void savePng(BufferedImage img, java.nio.file.Path file) throws java.io.IOException {
        diffusionkit.util.AtomicFiles.write(file, out -> javax.imageio.ImageIO.write(img, "png", out));
    }
}
