package diffusionkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code ./kit train-clip}: a few steps write a CLIP folder in openai/clip-vit-base-patch32's layout that loads back. */
class TrainClipCommandTest {

    @Test
    void writesALoadableClipWithItsMeasures(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("emoji-clip");
        TrainCommandsTest.Result r = TrainCommandsTest.run("train-clip", "--output", out.toString(), "--steps", "2",
                "--batch_size", "8", "--holdout_every", "20");
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json",
                "special_tokens_map.json", "preprocessor_config.json", "training.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        try (NDManager m = NDManager.newBaseManager(); ClipModel clip = ClipModel.fromPretrained(out, m)) {
            assertEquals(32, clip.getConfig().visionConfig().imageSize());
            ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(out);
            assertEquals(List.of("apple</w>"), tokenizer.tokenize("apple"), "the real CLIP vocabulary");
            assertEquals(32, tokenizer.encode("a red heart").length, "the tokenizer's length is the model's text positions");
        }
        JsonObject pre = JsonParser.parseString(Files.readString(out.resolve("preprocessor_config.json"))).getAsJsonObject();
        assertEquals(32, pre.getAsJsonObject("size").get("shortest_edge").getAsInt());
        assertEquals("CLIPImageProcessor", pre.get("image_processor_type").getAsString());
        JsonObject t = JsonParser.parseString(Files.readString(out.resolve("training.json"))).getAsJsonObject();
        assertEquals(2, t.get("steps").getAsInt());
        assertEquals("emoji", t.get("dataset").getAsString(), "both sets by default");
        assertEquals(2 * ((1911 + 19) / 20), t.get("held_out").getAsInt(), "every 20th emoji of each set");
        assertEquals(5.0 / t.get("held_out").getAsInt(), t.get("recall_at_5_chance").getAsDouble(), 1e-12);
        TrainCommandsTest.assertFails("--batch_size must be at least 2", "train-clip", "--output", out.toString(),
                "--batch_size", "1");
        TrainCommandsTest.assertFails("--dataset must be emoji, emoji-google or emoji-twitter", "train-clip", "--output",
                out.toString(), "--dataset", "mnist");
    }
}
