package diffusionkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Captions of the packaged emoji: one list per image, in the dataset's order, from emoji-data's names and emojilib's
 * keywords, and the dominant colour measured on the pixels.
 */
class EmojiCaptionsTest {

    @Test
    void oneListPerImageAlignedWithTheDataset() {
        PackagedDatasets data = PackagedDatasets.defaults();
        for (String name : List.of("emoji-google", "emoji-twitter")) {
            ImageDataset images = data.load(name);
            List<List<String>> captions = EmojiCaptions.of(data, name);
            assertEquals(images.length(), captions.size(), name);
            int apple = indexOf(captions, "red apple");
            // emojilib 4.0.3: "🍎": ["red_apple", "fruit", "mac", "school", "delicious", "plant"]
            assertEquals(List.of("red apple", "an emoji of red apple", "apple", "food fruit", "food & drink", "fruit",
                    "mac", "school", "delicious", "plant"), captions.get(apple));
            assertEquals("Food & Drink", images.classNames().get(images.label(apple)), "the same image's category");
            // the star's keywords say its colour: emojilib writes it without U+FE0F
            assertTrue(captions.get(indexOf(captions, "white medium star")).contains("yellow"), name);
            // with colours measured on the pixels, before the name and each short name
            List<List<String>> coloured = EmojiCaptions.of(data, name, true);
            assertEquals(captions.get(apple), coloured.get(apple).subList(0, captions.get(apple).size()));
            assertEquals(List.of("a red apple"), coloured.get(apple).subList(captions.get(apple).size(),
                    coloured.get(apple).size()), "'red apple' and 'apple' both give 'a red apple'");
            assertTrue(coloured.get(indexOf(captions, "blue heart")).contains("a blue heart"), name);
            assertTrue(coloured.get(indexOf(captions, "green apple")).contains("a green apple"), name);
            assertTrue(coloured.get(indexOf(captions, "frog face")).containsAll(List.of("a green frog face", "a green frog")),
                    name + ": " + coloured.get(indexOf(captions, "frog face")));
        }
        assertThrows(DataException.class, () -> EmojiCaptions.of(data, "mnist"));
    }

    @Test
    void emojilibKeysWithAndWithoutTheVariationSelector() {
        Map<String, List<String>> k = Map.of("\u2764\uFE0F", List.of("red_heart"), "\u2B50", List.of("star"));
        assertEquals(List.of("red_heart"), EmojiCaptions.keywordsOf(k, "2764-FE0F"));
        assertEquals(List.of("red_heart"), EmojiCaptions.keywordsOf(k, "2764"));
        assertEquals(List.of("star"), EmojiCaptions.keywordsOf(k, "2B50-FE0F"));
        assertEquals(List.of(), EmojiCaptions.keywordsOf(k, "1F600"));
    }

    @Test
    void colourNamesOfPlainImages() {
        assertEquals("red", EmojiCaptions.colourName(solid(0.9f, 0.1f, 0.1f), 3));
        assertEquals("green", EmojiCaptions.colourName(solid(0.2f, 0.7f, 0.2f), 3));
        assertEquals("blue", EmojiCaptions.colourName(solid(0.1f, 0.3f, 0.9f), 3));
        assertEquals("yellow", EmojiCaptions.colourName(solid(1f, 0.85f, 0.1f), 3));
        assertEquals("brown", EmojiCaptions.colourName(solid(0.45f, 0.25f, 0.1f), 3));
        assertEquals("black", EmojiCaptions.colourName(solid(0.1f, 0.1f, 0.1f), 3));
        assertNull(EmojiCaptions.colourName(solid(1f, 1f, 1f), 3), "all background: no colour");
        float[] half = solid(0.9f, 0.1f, 0.1f);                     // a third red, a third blue, a third green
        for (int p = 0; p < 16; p++) {
            int c = p % 3 == 0 ? 0 : p % 3 == 1 ? 1 : 2;
            half[p] = c == 0 ? 0.9f : 0.1f;
            half[16 + p] = c == 1 ? 0.9f : 0.1f;
            half[32 + p] = c == 2 ? 0.9f : 0.1f;
        }
        assertNull(EmojiCaptions.colourName(half, 3), "no colour covers half the pixels");
        assertEquals(6 / 16.0, EmojiCaptions.colourShare(half, 3, "red"), 1e-12);   // pixels 0, 3, ..., 15
        assertEquals(5 / 16.0, EmojiCaptions.colourShare(half, 3, "blue"), 1e-12);
        assertEquals(0.0, EmojiCaptions.colourShare(half, 3, "pink"));
        assertEquals(0.0, EmojiCaptions.colourShare(solid(1f, 1f, 1f), 3, "red"), "nothing drawn");
        assertThrows(IllegalArgumentException.class, () -> EmojiCaptions.colourShare(half, 3, "teal"));
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            float[] batch = new float[2 * 48];                      // a red image and a white one, in [-1, 1]
            float[] red = solid(0.9f, 0.1f, 0.1f);
            for (int k = 0; k < 48; k++) {
                batch[k] = red[k] * 2 - 1;
                batch[48 + k] = 1f;
            }
            assertEquals(0.5, EmojiCaptions.colourShare(m.create(batch, new ai.djl.ndarray.types.Shape(2, 3, 4, 4)), "red"),
                    1e-12, "the mean over the batch: all red, then nothing drawn");
        }
        assertEquals("green", EmojiCaptions.colourWord("A Green frog"));
        assertEquals("red", EmojiCaptions.colourWord("a red heart, not a blue one"));
        assertNull(EmojiCaptions.colourWord("a frog"));
    }

    private static float[] solid(float r, float g, float b) {
        float[] chw = new float[3 * 16];
        Arrays.fill(chw, 0, 16, r);
        Arrays.fill(chw, 16, 32, g);
        Arrays.fill(chw, 32, 48, b);
        return chw;
    }

    private static int indexOf(List<List<String>> captions, String name) {
        for (int i = 0; i < captions.size(); i++) {
            if (captions.get(i).get(0).equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no emoji named " + name);
    }
}
