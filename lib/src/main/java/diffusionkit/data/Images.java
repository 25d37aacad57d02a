package diffusionkit.data;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Decodes image files to planar unsigned bytes, compositing transparency on white. */
public final class Images {

    private Images() {}

    /** A decoded image: CHW unsigned bytes. */
    public record Decoded(byte[] chw, int channels, int height, int width) {}

    /**
     * Reads a PNG, JPEG, GIF or BMP file as {@code channels} (1 or 3) planes; transparent pixels are composited
     * on white, as the course's emoji and most image datasets expect.
     */
    public static Decoded read(Path file, int channels) {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new DataException(file + " cannot be decoded as an image (" + e.getMessage()
                    + "): the file is corrupt or not an image. Remove it or replace it with a valid PNG/JPEG.", e);
        }
        if (img == null) {
            String what = describe(file);
            throw new DataException(file + " is not an image the kit can read (" + what
                    + "). Remove it or replace it with a valid PNG/JPEG (the kit reads PNG, JPEG, GIF and BMP).");
        }
        return fromBufferedImage(img, channels);
    }

    /** Planar bytes of a {@link BufferedImage}, alpha composited on white. */
    public static Decoded fromBufferedImage(BufferedImage img, int channels) {
        int h = img.getHeight();
        int w = img.getWidth();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        int plane = h * w;
        byte[] out = new byte[channels * plane];
        for (int i = 0; i < plane; i++) {
            int p = argb[i];
            int a = (p >>> 24) & 0xFF;
            int r = over((p >> 16) & 0xFF, a);
            int g = over((p >> 8) & 0xFF, a);
            int b = over(p & 0xFF, a);
            if (channels == 1) {
                out[i] = (byte) Math.round(0.299 * r + 0.587 * g + 0.114 * b);
            } else {
                out[i] = (byte) r;
                out[plane + i] = (byte) g;
                out[2 * plane + i] = (byte) b;
            }
        }
        return new Decoded(out, channels, h, w);
    }

    /** {@code c * a + 255 * (1 - a)}, rounded: the colour over a white background. */
    private static int over(int c, int a) {
        return (c * a + 255 * (255 - a) + 127) / 255;
    }

    private static String describe(Path file) {
        try {
            byte[] head = new byte[8];
            try (var in = Files.newInputStream(file)) {
                int n = in.readNBytes(head, 0, 8);
                if (n == 0) {
                    return "the file is empty";
                }
            }
            if ((head[0] & 0xFF) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') {
                return "it starts like a PNG but is corrupt or truncated";
            }
            if ((head[0] & 0xFF) == 0xFF && (head[1] & 0xFF) == 0xD8) {
                return "it starts like a JPEG but is corrupt or truncated";
            }
            return "no known image format";
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}
