package diffusionkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Captions of the packaged emoji: one list per image, in the dataset's order, from emoji-data's names. */
class EmojiCaptionsTest {

    @Test
    void oneListPerImageAlignedWithTheDataset() {
        PackagedDatasets data = PackagedDatasets.defaults();
        for (String name : List.of("emoji-google", "emoji-twitter")) {
            ImageDataset images = data.load(name);
            List<List<String>> captions = EmojiCaptions.of(data, name);
            assertEquals(images.length(), captions.size(), name);
            int apple = -1;
            for (int i = 0; i < captions.size(); i++) {
                if (captions.get(i).get(0).equals("red apple")) {
                    apple = i;
                }
            }
            assertTrue(apple >= 0, name + ": no red apple");
            assertEquals(List.of("red apple", "an emoji of red apple", "apple", "food fruit", "food & drink"),
                    captions.get(apple));
            assertEquals("Food & Drink", images.classNames().get(images.label(apple)), "the same image's category");
        }
        assertThrows(DataException.class, () -> EmojiCaptions.of(data, "mnist"));
    }
}
