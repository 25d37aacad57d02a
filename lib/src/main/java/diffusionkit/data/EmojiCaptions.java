package diffusionkit.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Text for the packaged emoji sets, for training a CLIP on them ([K]): for each emoji, in the image order of
 * {@link PackagedDatasets#load(String) load("emoji-google")} (or twitter), captions built from emoji-data's
 * {@code emoji.json} and emojilib's keywords ({@link PackagedDatasets#EMOJILIB}): the Unicode name ("red apple"),
 * "an emoji of" + the name, the short names ("apple"), the subcategory ("food fruit"), the category
 * ("food &amp; drink") and each of emojilib's keywords ("fruit", "mac", "school"), lower case, without repeats.
 * {@link #of(PackagedDatasets, String, boolean)} adds the image's dominant colour ("a red apple"), measured on the
 * pixels.
 */
public final class EmojiCaptions {

    /** The colour words {@link #colourName} answers with. */
    public static final List<String> COLOURS = List.of("red", "orange", "yellow", "green", "blue", "purple", "pink",
            "brown", "black", "grey", "white");

    private EmojiCaptions() {}

    /**
     * The captions of every emoji of {@code datasetName} ({@code emoji-google} or {@code emoji-twitter}), one list per
     * image, in the dataset's order.
     *
     * @throws DataException for another dataset name, or an unreadable {@code emoji.json} or keyword file
     */
    public static List<List<String>> of(PackagedDatasets data, String datasetName) {
        return of(data, datasetName, false);
    }

    /**
     * The captions of every emoji of {@code datasetName}, and with {@code colours} also the image's dominant colour
     * ({@link #colourName}, measured on the stored pixels) before its name and each short name: "a red apple",
     * "a yellow star" (the white medium star's short name is "star"), "a green frog".
     */
    public static List<List<String>> of(PackagedDatasets data, String datasetName, boolean colours) {
        String style = switch (datasetName) {
            case "emoji-google" -> "google";
            case "emoji-twitter" -> "twitter";
            default -> throw new DataException("captions exist for emoji-google and emoji-twitter, not '" + datasetName + "'");
        };
        List<Path> dirs = data.ensure(List.of(style.equals("google") ? PackagedDatasets.EMOJI_GOOGLE
                : PackagedDatasets.EMOJI_TWITTER, PackagedDatasets.EMOJILIB), "the captions of '" + datasetName + "'");
        Path dir = dirs.get(0);
        Map<String, List<String>> keywords = keywords(dirs.get(1).resolve("dist/emoji-en-US.json"));
        ImageDataset images = colours ? data.load(datasetName) : null;
        List<List<String>> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(dir.resolve("emoji.json"))) {
            for (JsonElement el : JsonParser.parseReader(r).getAsJsonArray()) {
                JsonObject e = el.getAsJsonObject();
                if (e.get("has_img_" + style).getAsBoolean()) {
                    String colour = images == null ? null : colourName(images.rawImage(out.size()), images.storedChannels());
                    out.add(captions(e, keywordsOf(keywords, e.get("unified").getAsString()), colour));
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new DataException("cannot read " + dir.resolve("emoji.json") + ": " + e.getMessage()
                    + ". Delete " + dir + " and fetch again.", e);
        }
        if (images != null && out.size() != images.length()) {
            throw new DataException(datasetName + ": " + images.length() + " images but " + out.size() + " emoji in "
                    + dir.resolve("emoji.json") + ". Delete " + dir + " and fetch again.");
        }
        return out;
    }

    /** The captions of one {@code emoji.json} entry, its emojilib keywords and its colour (or null). */
    static List<String> captions(JsonObject e, List<String> keywords, String colour) {
        Set<String> c = new LinkedHashSet<>();
        String name = words(e.get("name").getAsString());
        List<String> shortNames = new ArrayList<>();
        e.getAsJsonArray("short_names").forEach(s -> shortNames.add(words(s.getAsString())));
        c.add(name);
        c.add("an emoji of " + name);
        c.addAll(shortNames);
        c.add(words(e.get("subcategory").getAsString()));
        c.add(e.get("category").getAsString().toLowerCase(Locale.ROOT));
        for (String k : keywords) {
            String w = words(k);
            if (w.matches("[a-z][a-z0-9 ]*")) {                    // leave out ":D", ":)" and the like
                c.add(w);
            }
        }
        if (colour != null) {
            List<String> named = new ArrayList<>(List.of(name));
            named.addAll(shortNames);
            for (String n : named) {
                c.add("a " + (n.startsWith(colour + " ") ? n : colour + " " + n));
            }
        }
        return List.copyOf(c);
    }

    /**
     * The dominant colour of an image on white (CHW in [0, 1], 3 or 4 channels, the first three RGB), one of
     * {@link #COLOURS}, or null when no colour covers half of the drawn pixels. Pixels near white are the background
     * and left out; a drawn pixel with saturation under 0.25 is black (value under 0.25), grey or white; a saturated
     * pixel is named by its hue (red under 20 degrees or from 340, orange to 38, yellow to 60, green to 165, blue to
     * 260, purple to 300, pink to 340: bounds set on the named hearts of both sets), red and orange of value under 0.55 being brown.
     */
    public static String colourName(float[] chw, int channels) {
        if (channels < 3) {
            return null;
        }
        int[] counts = colourCounts(chw, channels);
        int drawn = counts[COLOURS.size()];
        int best = 0;
        for (int k = 1; k < COLOURS.size(); k++) {
            best = counts[k] > counts[best] ? k : best;
        }
        return drawn > 0 && counts[best] * 2 >= drawn ? COLOURS.get(best) : null;
    }

    /**
     * The share of an image's drawn pixels (those not near white) that {@link #colourName}'s rule calls
     * {@code colour}; 0 when nothing is drawn. A judge of colour words that knows nothing of CLIP.
     */
    public static double colourShare(float[] chw, int channels, String colour) {
        int k = COLOURS.indexOf(colour);
        if (k < 0 || channels < 3) {
            throw new IllegalArgumentException("colour '" + colour + "' of a " + channels + "-channel image: use one of "
                    + COLOURS + " on RGB images");
        }
        int[] counts = colourCounts(chw, channels);
        return counts[COLOURS.size()] == 0 ? 0 : (double) counts[k] / counts[COLOURS.size()];
    }

    /**
     * The mean over a batch of images ([B, 3, H, W] in [-1, 1], as samplers return them) of {@link #colourShare}.
     */
    public static double colourShare(ai.djl.ndarray.NDArray images, String colour) {
        ai.djl.ndarray.types.Shape s = images.getShape();
        if (s.dimension() != 4 || s.get(1) < 3) {
            throw new IllegalArgumentException("colourShare needs RGB images [batch, 3, height, width], got " + s);
        }
        float[] x = images.toFloatArray();
        int n = (int) s.get(0);
        int per = x.length / n;
        double total = 0;
        for (int i = 0; i < n; i++) {
            float[] one = new float[per];
            for (int k = 0; k < per; k++) {
                one[k] = Math.max(0f, Math.min(1f, (x[i * per + k] + 1) / 2));
            }
            total += colourShare(one, (int) s.get(1), colour);
        }
        return total / n;
    }

    /** The first colour word of {@code text} ({@link #COLOURS}), or null. */
    public static String colourWord(String text) {
        for (String w : text.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
            if (COLOURS.contains(w)) {
                return w;
            }
        }
        return null;
    }

    /** Pixels of each colour of {@link #COLOURS}, then the number of drawn pixels. */
    private static int[] colourCounts(float[] chw, int channels) {
        int n = chw.length / channels;
        int[] counts = new int[COLOURS.size() + 1];
        for (int p = 0; p < n; p++) {
            float r = chw[p];
            float g = chw[n + p];
            float b = chw[2 * n + p];
            float max = Math.max(r, Math.max(g, b));
            float min = Math.min(r, Math.min(g, b));
            if (min > 0.92f) {
                continue;                                               // the white background
            }
            counts[COLOURS.size()]++;
            float sat = max == 0 ? 0 : (max - min) / max;
            String name;
            if (sat < 0.25f) {
                name = max < 0.25f ? "black" : max > 0.85f ? "white" : "grey";
            } else {
                double hue = hueDegrees(r, g, b, max, min);
                if (hue < 20 || hue >= 340) {
                    name = max < 0.55f ? "brown" : "red";
                } else if (hue < 38) {
                    name = max < 0.55f ? "brown" : "orange";
                } else if (hue < 60) {
                    name = "yellow";
                } else if (hue < 165) {
                    name = "green";
                } else if (hue < 260) {
                    name = "blue";
                } else if (hue < 300) {
                    name = "purple";
                } else {
                    name = "pink";
                }
            }
            counts[COLOURS.indexOf(name)]++;
        }
        return counts;
    }

    private static double hueDegrees(float r, float g, float b, float max, float min) {
        float d = max - min;
        double h;
        if (max == r) {
            h = 60 * (((g - b) / d) % 6);
        } else if (max == g) {
            h = 60 * ((b - r) / d + 2);
        } else {
            h = 60 * ((r - g) / d + 4);
        }
        return h < 0 ? h + 360 : h;
    }

    /** emojilib's file: emoji (as text) to keywords, the first keyword being the short name. */
    static Map<String, List<String>> keywords(Path file) {
        try (Reader r = Files.newBufferedReader(file)) {
            Map<String, List<String>> out = new java.util.HashMap<>();
            for (Map.Entry<String, JsonElement> e : JsonParser.parseReader(r).getAsJsonObject().entrySet()) {
                List<String> k = new ArrayList<>();
                e.getValue().getAsJsonArray().forEach(v -> k.add(v.getAsString()));
                out.put(e.getKey(), k);
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new DataException("cannot read emojilib's keywords " + file + ": " + e.getMessage()
                    + ". Delete the folder and fetch again (./kit fetch-data).", e);
        }
    }

    /**
     * The keywords of the emoji whose code points emoji-data writes as {@code unified} ("2764-FE0F"): emojilib writes
     * some with the variation selector U+FE0F and some without, so both are tried. Empty when emojilib lacks it.
     */
    static List<String> keywordsOf(Map<String, List<String>> keywords, String unified) {
        StringBuilder s = new StringBuilder();
        for (String cp : unified.split("-")) {
            s.appendCodePoint(Integer.parseInt(cp, 16));
        }
        String text = s.toString();
        for (String k : List.of(text, text.replace("\uFE0F", ""), text + "\uFE0F")) {
            List<String> found = keywords.get(k);
            if (found != null) {
                return found;
            }
        }
        return List.of();
    }

    private static String words(String s) {
        return s.toLowerCase(Locale.ROOT).replace('_', ' ').replace('-', ' ').trim();
    }
}
