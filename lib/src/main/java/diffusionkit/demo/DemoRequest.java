package diffusionkit.demo;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One validated generation request of the web demo: a target colour, a guidance scale, a number of DDIM steps and
 * a seed. {@link #parse(Map)} turns query parameters into one, or throws {@link BadRequest} with a message for the user.
 *
 * @param color the target colour as an upper-case {@code #RRGGBB}
 * @param rgb the target colour as three floats in [0, 1]
 * @param scale the guidance scale, in [{@value #MIN_SCALE}, {@value #MAX_SCALE}]
 * @param steps DDIM steps, in [{@value #MIN_STEPS}, {@value #MAX_STEPS}]
 * @param seed the noise seed
 */
public record DemoRequest(String color, float[] rgb, float scale, int steps, long seed) {

    public static final String DEFAULT_COLOR = "#55FFAA";
    public static final float DEFAULT_SCALE = 3f;
    public static final int DEFAULT_STEPS = 40;
    public static final long DEFAULT_SEED = 0;
    public static final float MIN_SCALE = 0f;
    public static final float MAX_SCALE = 30f;
    public static final int MIN_STEPS = 1;
    public static final int MAX_STEPS = 100;

    private static final Pattern WHOLE = Pattern.compile("[+-]?[0-9]+");

    /** A request input the server refuses with HTTP 400. */
    public static final class BadRequest extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        public BadRequest(String message) {
            super(message);
        }
    }

    /** Parses {@code color}, {@code scale}, {@code steps} and {@code seed}; missing ones take their defaults. */
    public static DemoRequest parse(Map<String, String> q) {
        String color = normalizeColor(q.getOrDefault("color", DEFAULT_COLOR));
        float scale = parseFloat(q.get("scale"), DEFAULT_SCALE, "scale");
        if (!(scale >= MIN_SCALE && scale <= MAX_SCALE)) {
            throw new BadRequest("scale " + q.get("scale") + " is out of range: use a number from " + (int) MIN_SCALE
                    + " to " + (int) MAX_SCALE + ".");
        }
        int steps;
        String s = q.get("steps");
        if (s == null || s.isBlank()) {
            steps = DEFAULT_STEPS;
        } else {
            try {
                steps = Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                if (WHOLE.matcher(s.trim()).matches()) {     // digits, but more than an int holds
                    throw new BadRequest("steps " + s.trim() + " is out of range: use " + MIN_STEPS + " to " + MAX_STEPS + ".");
                }
                throw new BadRequest("steps '" + s + "' is not a whole number: use " + MIN_STEPS + " to " + MAX_STEPS + ".");
            }
            if (steps < MIN_STEPS || steps > MAX_STEPS) {
                throw new BadRequest("steps " + steps + " is out of range: use " + MIN_STEPS + " to " + MAX_STEPS + ".");
            }
        }
        long seed;
        String sd = q.get("seed");
        if (sd == null || sd.isBlank()) {
            seed = DEFAULT_SEED;
        } else {
            try {
                seed = Long.parseLong(sd.trim());
            } catch (NumberFormatException e) {
                if (WHOLE.matcher(sd.trim()).matches()) {    // digits, but more than a long holds
                    throw new BadRequest("seed " + sd.trim() + " is out of range: use a whole number from "
                            + Long.MIN_VALUE + " to " + Long.MAX_VALUE + ", such as 0 or 42.");
                }
                throw new BadRequest("seed '" + sd + "' is not a whole number: use an integer such as 0 or 42.");
            }
        }
        return new DemoRequest(color, diffusionkit.guidance.ColorLoss.parseColor(color), scale, steps, seed);
    }

    /** {@code #rrggbb} or {@code rrggbb} (any case) as {@code #RRGGBB}; anything else is a {@link BadRequest}. */
    public static String normalizeColor(String c) {
        String v = c == null ? "" : c.trim();
        if (v.startsWith("#")) {
            v = v.substring(1);
        }
        if (!v.matches("[0-9a-fA-F]{6}")) {
            throw new BadRequest("colour '" + c + "' is not a colour: use six hex digits with or without '#', e.g. #55FFAA.");
        }
        return "#" + v.toUpperCase(Locale.ROOT);
    }

    private static float parseFloat(String s, float dflt, String name) {
        if (s == null || s.isBlank()) {
            return dflt;
        }
        try {
            float f = Float.parseFloat(s.trim());
            if (Float.isNaN(f) || Float.isInfinite(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new BadRequest(name + " '" + s + "' is not a number: use a number from " + (int) MIN_SCALE + " to "
                    + (int) MAX_SCALE + ".");
        }
    }
}
