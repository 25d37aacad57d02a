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
import java.util.Set;

/**
 * Text for the packaged emoji sets, for training a CLIP on them ([K]): for each emoji, in the image order of
 * {@link PackagedDatasets#load(String) load("emoji-google")} (or twitter), captions built from emoji-data's
 * {@code emoji.json}: the Unicode name ("red apple"), "an emoji of" + the name, the short names ("apple"), the
 * subcategory ("food fruit") and the category ("food & drink"), lower case, without repeats.
 */
public final class EmojiCaptions {

    private EmojiCaptions() {}

    /**
     * The captions of every emoji of {@code datasetName} ({@code emoji-google} or {@code emoji-twitter}), one list per
     * image, in the dataset's order.
     *
     * @throws DataException for another dataset name, or an unreadable {@code emoji.json}
     */
    public static List<List<String>> of(PackagedDatasets data, String datasetName) {
        String style = switch (datasetName) {
            case "emoji-google" -> "google";
            case "emoji-twitter" -> "twitter";
            default -> throw new DataException("captions exist for emoji-google and emoji-twitter, not '" + datasetName + "'");
        };
        Path dir = data.ensure(style.equals("google") ? PackagedDatasets.EMOJI_GOOGLE : PackagedDatasets.EMOJI_TWITTER);
        List<List<String>> out = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(dir.resolve("emoji.json"))) {
            for (JsonElement el : JsonParser.parseReader(r).getAsJsonArray()) {
                JsonObject e = el.getAsJsonObject();
                if (e.get("has_img_" + style).getAsBoolean()) {
                    out.add(captions(e));
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new DataException("cannot read " + dir.resolve("emoji.json") + ": " + e.getMessage()
                    + ". Delete " + dir + " and fetch again.", e);
        }
        return out;
    }

    /** The captions of one {@code emoji.json} entry. */
    static List<String> captions(JsonObject e) {
        Set<String> c = new LinkedHashSet<>();
        String name = words(e.get("name").getAsString());
        c.add(name);
        c.add("an emoji of " + name);
        e.getAsJsonArray("short_names").forEach(s -> c.add(words(s.getAsString())));
        c.add(words(e.get("subcategory").getAsString()));
        c.add(e.get("category").getAsString().toLowerCase(Locale.ROOT));
        return List.copyOf(c);
    }

    private static String words(String s) {
        return s.toLowerCase(Locale.ROOT).replace('_', ' ').replace('-', ' ').trim();
    }
}
