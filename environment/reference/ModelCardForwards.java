import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import diffusionkit.classify.Classifier;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.io.Safetensors;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.models.UNet2DModel;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Java side of environment/reference/check_model_cards.py: runs the kit's own loaders on the shipped model folders
 * with the inputs that script wrote, so that it can compare them with what the Python snippets of the model cards
 * compute from the same folders. Run from the checkout (the script does it):
 *
 *   java -cp "lib/target/classes:$(cat lib/target/classpath.txt)" environment/reference/ModelCardForwards.java IN OUT
 *
 * IN (safetensors, written by the script): emoji_x [K,3,32,32] float32, emoji_t [K] int64; cc_x [N,1,28,28] float32,
 * cc_t [N] int64, cc_y [N] int64 (labels, the null class 10 included); mnist_x [M,1,28,28]; fashion_x [M,3,32,32];
 * clip_pixels [B,3,32,32] (CLIP-normalised) and, in the metadata, "prompts" (texts joined by '|').
 *
 * OUT: "emoji-base", "emoji-animals": UNet2DModel.fromPretrained(P/unet).forward(emoji_x, emoji_t);
 * "mnist-conditional", "fashion-conditional": ClassConditionedUNet.fromPretrained(F).forward(cc_x, cc_t, cc_y), the
 * predicted noise; "mnist-classifier", "fashion-mnist-classifier-32": Classifier.logits of mnist_x / fashion_x;
 * "emoji-clip.image_embeds", "emoji-clip.text_embeds", "emoji-clip.logits_per_image": ClipModel.forward, the prompts
 * tokenised by ClipTokenizer, padded with end-of-text to the folder's model_max_length 32 (as transformers'
 * CLIPTokenizer with padding="max_length"), and those ids, "emoji-clip.input_ids"; "clip-tokenizer.input_ids": the
 * prompts tokenised by the tokenizer-only folder, padded to 77.
 */
public class ModelCardForwards {

    public static void main(String[] args) throws Exception {
        Path models = Path.of("datasets/models");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> in = Safetensors.read(Path.of(args[0]), m);
            List<String> prompts = List.of(Safetensors.metadata(Path.of(args[0])).get("prompts").split("\\|", -1));
            Map<String, NDArray> out = new LinkedHashMap<>();
            for (String name : List.of("emoji-base", "emoji-animals")) {
                try (UNet2DModel unet = UNet2DModel.fromPretrained(models.resolve(name).resolve("unet"), m)) {
                    out.put(name, unet.forward(in.get("emoji_x"), in.get("emoji_t"), null, false));
                }
            }
            for (String name : List.of("mnist-conditional", "fashion-conditional")) {
                try (ClassConditionedUNet net = ClassConditionedUNet.fromPretrained(models.resolve(name), m)) {
                    out.put(name, net.forward(in.get("cc_x"), in.get("cc_t"), in.get("cc_y"), false));
                }
            }
            String[][] classifiers = {{"mnist-classifier", "mnist_x"}, {"fashion-mnist-classifier-32", "fashion_x"}};
            for (String[] c : classifiers) {
                try (Classifier classifier = Classifier.load(models.resolve(c[0]), m)) {
                    out.put(c[0], classifier.logits(in.get(c[1])));
                }
            }
            try (ClipModel clip = ClipModel.fromPretrained(models.resolve("emoji-clip"), m)) {
                ClipTokenizer tok = ClipTokenizer.fromPretrained(models.resolve("emoji-clip")); // model_max_length 32
                ClipTokenizer.Batch b = tok.encodeBatch(prompts, ClipTokenizer.Padding.EOS, m);
                ClipModel.ClipOutput o = clip.forward(in.get("clip_pixels"), b.inputIds(), b.attentionMask());
                out.put("emoji-clip.image_embeds", o.imageEmbeds());
                out.put("emoji-clip.text_embeds", o.textEmbeds());
                out.put("emoji-clip.logits_per_image", o.logitsPerImage());
                out.put("emoji-clip.input_ids", b.inputIds().toType(DataType.INT64, false));
            }
            ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(models.resolve("clip-tokenizer"));
            out.put("clip-tokenizer.input_ids", tokenizer.encodeBatch(prompts, ClipTokenizer.Padding.EOS, m).inputIds()
                    .toType(DataType.INT64, false));
            Safetensors.write(Path.of(args[1]), out, Map.of());
        }
    }
}
