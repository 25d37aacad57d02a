import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.clip.ClipLoss;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.io.Safetensors;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the inputs of the emoji-clip reference check (lib/src/test/resources/vectors/emoji_clip/): four emoji that
 * training kept out (index 0, 10, 20, 30 of each set: the Google and the Twitter grinning face, ...) as CLIP reads
 * them (32x32, ClipLoss.clipNormalize of [-1, 1]) and prompts tokenised by the kit's CLIP tokenizer (the real CLIP
 * vocabulary, padded to the model's 32 positions with end-of-text, as transformers' CLIPTokenizer pads to
 * max_length). Run from the checkout:
 *
 *   java -cp "lib/target/classes:$(cat lib/target/classpath.txt)" environment/reference/EmojiClipInputs.java OUT
 *
 * then environment/reference/emoji_clip_reference.py datasets/models/emoji-clip OUT REFERENCE.
 */
public class EmojiClipInputs {

    static final List<String> PROMPTS = List.of("a red heart", "a green frog", "a yellow star", "a blue cat face",
            "an emoji of food & drink", "grinning face", "");

    public static void main(String[] args) throws Exception {
        PackagedDatasets data = PackagedDatasets.defaults();
        ClipTokenizer tok = ClipTokenizer.fromPretrained(Path.of("datasets/models/emoji-clip"));
        try (NDManager m = NDManager.newBaseManager()) {
            Preprocess to32 = Preprocess.NONE.withImageSize(32).withChannels(3);
            ImageDataset google = data.load("emoji-google").withPreprocess(to32);
            ImageDataset twitter = data.load("emoji-twitter").withPreprocess(to32);
            NDArray g = google.images(m, new int[] {0, 10, 20, 30}, new java.util.Random(0));
            NDArray t = twitter.images(m, new int[] {0, 10}, new java.util.Random(0));
            NDArray pixels = ClipLoss.clipNormalize(g.concat(t));
            ClipTokenizer.Batch b = tok.encodeBatch(PROMPTS, ClipTokenizer.Padding.EOS, m);
            Map<String, NDArray> out = new LinkedHashMap<>();
            out.put("pixel_values", pixels);
            out.put("input_ids", b.inputIds());
            out.put("attention_mask", b.attentionMask());
            Safetensors.write(Path.of(args[0]), out, Map.of("prompts", String.join("|", PROMPTS)));
        }
    }
}
