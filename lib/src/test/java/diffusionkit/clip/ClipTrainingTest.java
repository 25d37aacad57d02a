package diffusionkit.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.Safetensors;
import diffusionkit.training.AdamW;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Training CLIP ([K]'s first piece): the contrastive loss against its float64 closed form on transformers' logits,
 * transformers' initialisation scales, and a tiny CLIP at 32x32 that learns to pair four colour swatches with their
 * captions (tokenised with the real CLIP tokenizer).
 */
class ClipTrainingTest {

    static Path vectors() throws Exception {
        return Path.of(ClipTrainingTest.class.getResource("/vectors/clip/clip_tiny_io.safetensors").toURI()).getParent();
    }

    /** transformers' clip_loss, in float64: (CE(logits_per_text) + CE(logits_per_image)) / 2, targets the diagonal. */
    static double closedForm(double[][] logitsPerText) {
        int n = logitsPerText.length;
        double rows = 0;
        double cols = 0;
        for (int i = 0; i < n; i++) {
            double r = 0;
            double c = 0;
            for (int j = 0; j < n; j++) {
                r += Math.exp(logitsPerText[i][j]);
                c += Math.exp(logitsPerText[j][i]);
            }
            rows += Math.log(r) - logitsPerText[i][i];
            cols += Math.log(c) - logitsPerText[i][i];
        }
        return (rows / n + cols / n) / 2;
    }

    @Test
    void theLossIsTransformersClipLossOnTheReferenceLogits() throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> ref = Safetensors.read(vectors().resolve("clip_tiny_io.safetensors"), m);
            // images 0 and 1 against texts 0 and 1 of transformers' logits_per_image [2, 14]
            NDArray perImage = ref.get("logits_per_image").get(new NDIndex(":, 0:2"));
            NDArray perText = perImage.transpose();
            float[] v = perText.toFloatArray();
            double expected = closedForm(new double[][] {{v[0], v[1]}, {v[2], v[3]}});
            assertEquals(expected, ClipModel.contrastiveLoss(perText).getFloat(), 1e-6);
            // the model's own logits of those pairs give the same loss
            try (ClipModel model = ClipModel.fromPretrained(vectors().resolve("clip_tiny"), m)) {
                NDArray ids = ref.get("input_ids").get(new NDIndex("0:2"));
                NDArray mask = ref.get("attention_mask").get(new NDIndex("0:2"));
                ClipModel.ClipOutput out = model.forward(ref.get("pixel_values"), ids, mask);
                assertEquals(expected, ClipModel.contrastiveLoss(out.logitsPerText()).getFloat(), 1e-4);
            }
            assertThrows(IllegalArgumentException.class, () -> ClipModel.contrastiveLoss(ref.get("logits_per_image")));
        }
    }

    /** A tiny CLIP config at 32x32 (patches of 8): clip_tiny's towers with a smaller image. */
    static ClipConfig tiny32() throws Exception {
        JsonObject o = JsonParser.parseString(Files.readString(vectors().resolve("clip_tiny/config.json"))).getAsJsonObject();
        JsonObject vision = o.getAsJsonObject("vision_config");
        vision.addProperty("image_size", 32);
        vision.addProperty("patch_size", 8);
        return ClipConfig.fromJson(o, "clip_tiny at 32x32");
    }

    @Test
    void freshWeightsHaveTransformersScales() throws Exception {
        ClipConfig c = tiny32();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClipModel model = ClipModel.random(c, 1, m)) {
            assertEquals(ClipModel.expectedShapes(c).keySet(), model.getParameters().keySet());
            assertEquals(Math.log(1 / 0.07), model.getLogitScale().getFloat(), 1e-4);
            double std = model.getParameter("text_model.embeddings.token_embedding.weight").toType(
                    ai.djl.ndarray.types.DataType.FLOAT64, false).sub(0).square().mean().sqrt().getDouble();
            assertEquals(0.02, std, 0.001, "token embeddings N(0, 0.02^2)");
            double q = model.getParameter("vision_model.encoder.layers.0.self_attn.q_proj.weight").square().mean().sqrt()
                    .getFloat();
            assertEquals(Math.pow(32, -0.5) * Math.pow(2 * 2, -0.5), q, 0.02, "q_proj: hidden^-1/2 (2 layers)^-1/2");
            assertArrayEquals(new float[32], model.getParameter("text_model.final_layer_norm.bias").toFloatArray());
            try (ClipModel same = ClipModel.random(c, 1, m)) {
                assertArrayEquals(model.getParameter("visual_projection.weight").toFloatArray(),
                        same.getParameter("visual_projection.weight").toFloatArray(), "seeded");
            }
        }
    }

    /** Four colour swatches and their captions: a few dozen Adam steps pair every image with its caption. */
    @Test
    void aTinyClipLearnsToPairColoursWithTheirNames() throws Exception {
        List<String> captions = List.of("a red square", "a green square", "a blue square", "a yellow square");
        float[][] rgb = {{0.9f, 0.1f, 0.1f}, {0.1f, 0.8f, 0.2f}, {0.1f, 0.2f, 0.9f}, {0.95f, 0.9f, 0.1f}};
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(vectors().resolve("clip_tiny"));
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClipModel model = ClipModel.random(tiny32(), 7, m)) {
            float[] pixels = new float[4 * 3 * 32 * 32];
            SeededNoise g = new SeededNoise(3);
            float[] noise = g.randnFloats(pixels.length);
            for (int i = 0; i < pixels.length; i++) {
                int image = i / (3 * 32 * 32);
                int channel = (i / (32 * 32)) % 3;
                float value = rgb[image][channel] + 0.05f * noise[i];                 // in [0, 1], then CLIP's Normalize
                pixels[i] = (value - ClipLoss.MEAN[channel]) / ClipLoss.STD[channel];
            }
            NDArray images = m.create(pixels, new Shape(4, 3, 32, 32));
            ClipTokenizer.Batch text = tokenizer.encodeBatch(captions, ClipTokenizer.Padding.EOS, m);
            Map<String, NDArray> params = model.getParameters();
            model.setRequiresGradient(true);
            AdamW adam = AdamW.builder().optLearningRate(3e-3).optWeightDecay(0).build();
            double first = Double.NaN;
            double last = Double.NaN;
            for (int step = 0; step < 40; step++) {
                try (NDManager sm = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = ClipModel.contrastiveLoss(model.forward(images, text.inputIds(), text.attentionMask())
                            .logitsPerText());
                    gc.backward(loss);
                    last = loss.getFloat();
                    first = step == 0 ? last : first;
                    loss.attach(sm);
                }
                adam.step(params);
                AdamW.zeroGradients(params);
            }
            model.setRequiresGradient(false);
            // untrained, the pairs are no better than chance: the loss is above ln 4 (exp(logit_scale) = 14 sharpens wrong guesses)
            assertTrue(first > Math.log(4) && last < 0.1, "loss " + first + " -> " + last);
            long[] matched = model.forward(images, text.inputIds(), text.attentionMask()).logitsPerImage().argMax(1)
                    .toLongArray();
            assertArrayEquals(new long[] {0, 1, 2, 3}, matched, "each swatch's best caption is its own");
        }
    }

    /**
     * The training loop and its two measures on 16 noisy swatches of 4 colours: before training, retrieval among all
     * 16 finds every image (recall@16 is 1 by definition); after 60 steps the captions name their swatches
     * (zero-shot accuracy and recall@4, the image among its colour's four, both 1).
     */
    @Test
    void theTrainingLoopAndItsMeasures() throws Exception {
        List<String> colours = List.of("red", "green", "blue", "yellow");
        int[][] rgb = {{230, 25, 25}, {25, 200, 50}, {25, 50, 230}, {240, 230, 25}};
        byte[][] pixels = new byte[16][];
        int[] labels = new int[16];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < 16; i++) {
            labels[i] = i % 4;
            pixels[i] = new byte[3 * 32 * 32];
            for (int j = 0; j < pixels[i].length; j++) {
                int v = rgb[labels[i]][j / (32 * 32)] + (int) (r.nextGaussian() * 12);
                pixels[i][j] = (byte) Math.max(0, Math.min(255, v));
            }
        }
        diffusionkit.data.ImageDataset swatches = diffusionkit.data.ImageDataset.of("swatches", 3, 32, 32, pixels, labels,
                colours);
        List<List<String>> captions = new java.util.ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String c = colours.get(labels[i]);
            captions.add(List.of("a " + c + " square", c));
        }
        List<String> prompts = colours.stream().map(c -> "a " + c + " square").toList();
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(vectors().resolve("clip_tiny"));
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClipModel model = ClipModel.random(tiny32(), 11, m)) {
            assertEquals(1.0, ClipTraining.recallAtK(model, tokenizer, swatches, i -> prompts.get(labels[i]), 16), 0.0);
            List<Integer> seen = new java.util.ArrayList<>();
            // with the colour-keeping augmentation the emoji CLIP is trained with (crops, small rotations, flips)
            ClipTraining.Result run = new ClipTraining(60, 8, 3e-3, 0, 0, (step, loss) -> seen.add(step))
                    .withAugment(ClipAugment.forImageSize(32)).train(model, tokenizer, swatches, captions);
            assertEquals(60, run.losses().size());
            assertEquals(java.util.stream.IntStream.rangeClosed(1, 60).boxed().toList(), seen);
            assertEquals(1.0, ClipTraining.zeroShotAccuracy(model, tokenizer, swatches, prompts), 0.0,
                    "losses " + run.losses());
            assertEquals(1.0, ClipTraining.recallAtK(model, tokenizer, swatches, i -> prompts.get(labels[i]), 4), 0.0);
        }
        assertThrows(IllegalArgumentException.class, () -> new ClipTraining(10, 1, 1e-3, 0, 0, null));
    }

    /** {@link ClipLoss#similarity}: the cosine of the two embeddings, computed here in float64 from the features. */
    @Test
    void similarityIsTheCosineOfTheEmbeddings() throws Exception {
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(vectors().resolve("clip_tiny"));
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClipModel model = ClipModel.random(tiny32(), 3, m)) {
            NDArray images = new SeededNoise(4).randn(m, new Shape(3, 3, 32, 32)).clip(-1, 1);
            NDArray text = ClipLoss.textFeatures(model, tokenizer, "a red square", m);
            float[] got = ClipLoss.similarity(model, images, text).toFloatArray();
            float[] img = model.getImageFeatures(ClipLoss.clipNormalize(images)).toFloatArray();
            float[] t = text.toFloatArray();
            int p = t.length;
            assertEquals(3, got.length);
            for (int i = 0; i < 3; i++) {
                double dot = 0;
                double a = 0;
                double b = 0;
                for (int k = 0; k < p; k++) {
                    dot += (double) img[i * p + k] * t[k];
                    a += (double) img[i * p + k] * img[i * p + k];
                    b += (double) t[k] * t[k];
                }
                assertEquals(dot / Math.sqrt(a * b), got[i], 1e-5, "image " + i);
            }
            // an image of another size is resized to the model's first (a 64x64 image of 2x2 blocks: the same image)
            NDArray big = images.repeat(2, 2).repeat(3, 2);
            assertArrayEquals(got, ClipLoss.similarity(model, big, text).toFloatArray(), 2e-2f);
        }
    }

    @Test
    void augmentationForSmallAndCourseSizedClips() {
        assertEquals(ClipAugment.course(224).toString(), ClipAugment.forImageSize(224).toString());
        assertEquals(new ClipAugment(32, 0.5, 1.0, 10, true).toString(), ClipAugment.forImageSize(32).toString());
    }
}
