package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The course's {@code color_loss}: the mean absolute difference between the predicted images and a target colour,
 * over every pixel, channel and image of the batch.
 *
 * <pre>
 * target = torch.tensor(target_color).to(images.device) * 2 - 1   # [0, 1] -> [-1, 1]
 * target = target[None, :, None, None]
 * error = torch.abs(images - target).mean()
 * </pre>
 *
 * The target is given in [0, 1] per channel, as {@code #RRGGBB}, {@code RRGGBB} or three numbers
 * ({@code 0.1,0.9,0.5}, the course's {@code (0.1, 0.9, 0.5)}).
 *
 * <p>Being a mean, the loss gives each element the gradient ±1/N (N = batch × 3 × H × W), so the guidance scale
 * that works depends on the image size and batch: the course's 40 is for 8 images of 256x256; 4 images of 32x32
 * get the same push per pixel from about 40 × 12288 / 1572864 ≈ 0.3.
 */
public final class ColorLoss implements GuidanceLoss {

    /** The course's target colour (0.1, 0.9, 0.5): a green-teal. */
    public static final float[] COURSE_TARGET = {0.1f, 0.9f, 0.5f};

    private static final String FORMS = "give #RRGGBB (e.g. #19E680), RRGGBB (e.g. 19e680) or three numbers in [0, 1] "
            + "separated by commas or spaces (e.g. 0.1,0.9,0.5)";
    private static final Pattern HEX = Pattern.compile("#?[0-9a-fA-F]{6}");

    private final float[] target;

    private ColorLoss(float[] target) {
        this.target = target.clone();
    }

    /** The loss towards the course's target (0.1, 0.9, 0.5). */
    public static ColorLoss course() {
        return new ColorLoss(COURSE_TARGET);
    }

    /**
     * The course's guidance scale, set for its images ({@code courseImages} of 256x256: 8 in the notebook, 1 in the
     * demo), converted to the same push per pixel for {@code n} images of {@code size} x {@code size}: the loss is a
     * mean, so each pixel's gradient is 1 / (pixels in the batch).
     */
    public static double perPixelScale(double courseScale, int courseImages, int n, int size) {
        return courseScale * n * size * size / (courseImages * 256.0 * 256.0);
    }

    /**
     * The loss towards (r, g, b), each in [0, 1].
     *
     * @throws IllegalArgumentException naming the bad channel when a value is outside [0, 1] or not finite
     */
    public static ColorLoss of(float r, float g, float b) {
        float[] c = {r, g, b};
        String[] names = {"red", "green", "blue"};
        for (int i = 0; i < 3; i++) {
            if (!(c[i] >= 0f && c[i] <= 1f)) {
                throw new IllegalArgumentException("target colour (" + r + ", " + g + ", " + b + "): " + names[i]
                        + " is " + c[i] + ", outside [0, 1]: " + FORMS);
            }
        }
        return new ColorLoss(c);
    }

    /**
     * Parses a target colour: {@code #RRGGBB}, {@code RRGGBB}, or three numbers in [0, 1] separated by commas and/or
     * spaces (parentheses allowed, as the course writes {@code (0.1, 0.9, 0.5)}).
     *
     * @throws IllegalArgumentException naming the input and the accepted forms
     */
    public static ColorLoss parse(String colour) {
        return new ColorLoss(parseColor(colour));
    }

    /** {@link #parse}'s colour as three floats in [0, 1]. */
    public static float[] parseColor(String colour) {
        if (colour == null || colour.isBlank()) {
            throw new IllegalArgumentException("target colour is empty: " + FORMS);
        }
        String s = colour.strip();
        if (HEX.matcher(s).matches()) {
            int v = Integer.parseInt(s.startsWith("#") ? s.substring(1) : s, 16);
            return new float[] {((v >> 16) & 255) / 255f, ((v >> 8) & 255) / 255f, (v & 255) / 255f};
        }
        String inner = s;
        if (inner.startsWith("(") && inner.endsWith(")") || inner.startsWith("[") && inner.endsWith("]")) {
            inner = inner.substring(1, inner.length() - 1).strip();
        }
        String[] parts = inner.split("\\s*[,\\s]\\s*");
        if (parts.length != 3) {
            String why = s.matches("#?[0-9a-zA-Z]+") ? "it is not 6 hexadecimal digits" : "it has " + parts.length
                    + " number(s), not 3";
            throw new IllegalArgumentException("target colour '" + colour + "' is not understood (" + why + "): " + FORMS);
        }
        float[] c = new float[3];
        String[] names = {"red", "green", "blue"};
        for (int i = 0; i < 3; i++) {
            try {
                c[i] = Float.parseFloat(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("target colour '" + colour + "': " + names[i] + " '" + parts[i]
                        + "' is not a number: " + FORMS, e);
            }
            if (!(c[i] >= 0f && c[i] <= 1f)) {
                throw new IllegalArgumentException("target colour '" + colour + "': " + names[i] + " " + parts[i]
                        + " is outside [0, 1] (use 0-1, not 0-255; or #RRGGBB): " + FORMS);
            }
        }
        return c;
    }

    /** The target colour in [0, 1] (a copy). */
    public float[] target() {
        return target.clone();
    }

    /** The target as {@code #rrggbb}. */
    public String hex() {
        return String.format(Locale.ROOT, "#%02x%02x%02x", Math.round(target[0] * 255), Math.round(target[1] * 255),
                Math.round(target[2] * 255));
    }

    /** mean(|x̂_0 − (2·target − 1)|) over the batch [B, 3, H, W]; a scalar. */
    @Override
    public NDArray loss(NDArray images) {
        if (images.getShape().dimension() != 4 || images.getShape().get(1) != 3) {
            throw new IllegalArgumentException("ColorLoss needs RGB images [B, 3, H, W], got " + images.getShape());
        }
        float[] m11 = {target[0] * 2 - 1, target[1] * 2 - 1, target[2] * 2 - 1};   // [0, 1] -> [-1, 1]
        NDArray t = images.getManager().create(m11, new Shape(1, 3, 1, 1)).toDevice(images.getDevice(), false);
        return images.sub(t).abs().mean();
    }

    @Override
    public String toString() {
        return "ColorLoss(" + hex() + ")";
    }
}
