package diffusionkit.demo;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One validated generation request of the web demo: a target colour, a guidance scale, a number of DDIM steps, a
 * seed, and optionally a text prompt for CLIP guidance with its own scale. {@link #parse(Map)} turns query parameters
 * into one, or throws {@link BadRequest} with a message for the user.
 *
 * @param color the target colour as an upper-case {@code #RRGGBB}
 * @param rgb the target colour as three floats in [0, 1]
 * @param scale the guidance scale, in [{@value #MIN_SCALE}, {@value #MAX_SCALE}]
 * @param steps DDIM steps, in [{@value #MIN_STEPS}, {@value #MAX_STEPS}]
 * @param seed the noise seed
 * @param prompt the text CLIP guidance pulls towards, "" for none: at most {@value #MAX_PROMPT_LENGTH} characters,
 *     letters, digits, spaces and {@code . , ' ! ? & -}
 * @param promptScale the CLIP guidance scale, in [{@value #MIN_SCALE}, {@value #MAX_PROMPT_SCALE}]
 */
public record DemoRequest(String color, float[] rgb, float scale, int steps, long seed, String prompt, float promptScale) {

    public static final String DEFAULT_COLOR = "#55FFAA";
    public static final float DEFAULT_SCALE = 3f;
    public static final int DEFAULT_STEPS = 40;
    public static final long DEFAULT_SEED = 0;
    public static final float MIN_SCALE = 0f;
    public static final float MAX_SCALE = 30f;
    public static final int MIN_STEPS = 1;
    public static final int MAX_STEPS = 100;

    public static final int MAX_PROMPT_LENGTH = 80;
    /** The answer to a prompt sent to a demo without a CLIP model. */
    public static final String NO_CLIP = "this demo has no CLIP model, so it cannot follow a prompt: leave the prompt "
            + "empty, or start the demo with one (./kit demo --clip datasets/models/emoji-clip).";
    public static final float DEFAULT_PROMPT_SCALE = 20f;
    public static final float MAX_PROMPT_SCALE = 100f;

    private static final Pattern PROMPT = Pattern.compile("[\\p{L}\\p{N} .,'!?&-]*");
    private static final Pattern WHOLE = Pattern.compile("[+-]?[0-9]+");

    /** A request input the server refuses with HTTP 400. */
    public static final class BadRequest extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        public BadRequest(String message) {
            super(message);
        }
    }

    /** A request without a prompt (colour guidance only). */
    public DemoRequest(String color, float[] rgb, float scale, int steps, long seed) {
        this(color, rgb, scale, steps, seed, "", DEFAULT_PROMPT_SCALE);
    }

    /** Whether the request asks for CLIP guidance. */
    public boolean hasPrompt() {
        return !prompt.isEmpty();
    }

    /**
     * Parses {@code color}, {@code scale}, {@code steps}, {@code seed}, {@code prompt} and {@code prompt_scale}; missing
     * ones take their defaults (no prompt).
     */
    public static DemoRequest parse(Map<String, String> q) {
        String color = normalizeColor(q.getOrDefault("color", DEFAULT_COLOR));
        float scale = parseFloat(q.get("scale"), DEFAULT_SCALE, "scale", MAX_SCALE);
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
        String prompt = normalizePrompt(q.get("prompt"));
        float promptScale = parseFloat(q.get("prompt_scale"), DEFAULT_PROMPT_SCALE, "prompt_scale", MAX_PROMPT_SCALE);
        if (!(promptScale >= MIN_SCALE && promptScale <= MAX_PROMPT_SCALE)) {
            throw new BadRequest("prompt_scale " + q.get("prompt_scale") + " is out of range: use a number from "
                    + (int) MIN_SCALE + " to " + (int) MAX_PROMPT_SCALE + ".");
        }
        return new DemoRequest(color, diffusionkit.guidance.ColorLoss.parseColor(color), scale, steps, seed, prompt,
                promptScale);
    }

    /**
     * A prompt with its surrounding and repeated spaces removed, "" for none; one that is too long or holds other
     * characters than letters, digits, spaces and {@code . , ' ! ? & -} is a {@link BadRequest} naming the problem.
     */
    public static String normalizePrompt(String p) {
        if (p == null) {
            return "";
        }
        String v = p.strip().replaceAll("\\s+", " ");
        if (v.length() > MAX_PROMPT_LENGTH) {
            throw new BadRequest("the prompt has " + v.length() + " characters: use at most " + MAX_PROMPT_LENGTH
                    + ", a short description such as 'a red heart'.");
        }
        if (!PROMPT.matcher(v).matches()) {
            int bad = v.codePoints().filter(c -> !PROMPT.matcher(new String(Character.toChars(c))).matches())
                    .findFirst().orElse('?');
            String shown = Character.isISOControl(bad) || Character.isWhitespace(bad)
                    ? String.format(Locale.ROOT, "U+%04X", bad) : "'" + new String(Character.toChars(bad)) + "'";
            throw new BadRequest("the prompt contains " + shown + ": use letters, digits, spaces and . , ' ! ? & -"
                    + ", e.g. 'a red heart'.");
        }
        return v;
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

    private static float parseFloat(String s, float dflt, String name, float max) {
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
                    + (int) max + ".");
        }
    }
}
