package diffusionkit.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.clip.ClipTraining;
import diffusionkit.data.EmojiCaptions;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.KitHome;
import diffusionkit.data.PackagedDatasets;
import diffusionkit.data.Preprocess;
import diffusionkit.util.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Trains a small CLIP on the packaged emoji and their captions ({@link EmojiCaptions}), measures it on emoji it did
 * not see, and writes it in the layout of {@code openai/clip-vit-base-patch32} (config.json, model.safetensors and
 * the tokenizer's files), so that CLIP guidance can load it like the real one.
 */
@Command(name = "train-clip", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a small CLIP on the packaged emoji and their captions, measure it on held-out emoji",
                "(zero-shot category accuracy, text-to-image recall@5, against chance) and save it in",
                "openai/clip-vit-base-patch32's layout. The defaults are the recipe of datasets/models/emoji-clip",
                "(37 min on 2 cores).",
                "Example: ./kit train-clip --output runs/emoji-clip"})
final class TrainClipCommand extends KitCommand {

    /** The JSON files' writer: indented, "<|startoftext|>" written as is (as transformers writes it). */
    private static final com.google.gson.Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    @Option(names = "--output", required = true, description = "the folder to write the CLIP into")
    Path output;

    @Option(names = "--dataset", description = "emoji (both sets, Google's and Twitter's), emoji-google or "
            + "emoji-twitter (default: ${DEFAULT-VALUE})")
    String dataset = "emoji";

    @Option(names = "--image_size", description = "the images' side in pixels (default: ${DEFAULT-VALUE})")
    int imageSize = 32;

    @Option(names = "--steps", description = "optimiser steps (default: ${DEFAULT-VALUE})")
    int steps = 4000;

    @Option(names = "--batch_size", description = "image-caption pairs per step (default: ${DEFAULT-VALUE})")
    int batchSize = 128;

    @Option(names = "--lr", description = "AdamW learning rate (default: ${DEFAULT-VALUE})")
    double lr = 5e-4;

    @Option(names = "--weight_decay", description = "AdamW weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay = 0.1;

    @Option(names = "--augment", negatable = true, description = "crop, rotate and flip the images, keeping their "
            + "colours (ClipAugment.forImageSize; default: ${DEFAULT-VALUE})")
    boolean augment = true;

    @Option(names = "--holdout_every", description = "keep every n-th emoji out of training, to measure on "
            + "(default: ${DEFAULT-VALUE})")
    int holdoutEvery = 10;

    @Option(names = "--seed", description = "seed of the weights, the batch order and the captions (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tokenizer", description = "the CLIP tokenizer's folder (default: datasets/models/clip-tokenizer)")
    Path tokenizerFolder;

    @Override
    public Integer call() throws Exception {
        positive("--steps", steps);
        positive("--image_size", imageSize);
        if (batchSize < 2) {
            throw bad("--batch_size must be at least 2 (the loss contrasts the pairs of a batch), got " + batchSize);
        }
        if (holdoutEvery < 2) {
            throw bad("--holdout_every must be at least 2 (every n-th emoji is kept out), got " + holdoutEvery);
        }
        Path tokFolder = tokenizerFolder != null ? tokenizerFolder : KitHome.find().resolve("datasets/models/clip-tokenizer");
        ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(tokFolder).withContextLength(ClipTraining.CONTEXT_LENGTH);
        PackagedDatasets data = PackagedDatasets.defaults();
        List<String> sets = switch (dataset) {
            case "emoji" -> List.of("emoji-google", "emoji-twitter");
            case "emoji-google", "emoji-twitter" -> List.of(dataset);
            default -> throw bad("--dataset must be emoji, emoji-google or emoji-twitter, got '" + dataset + "'");
        };
        ImageDataset joined = null;
        List<List<String>> captions = new java.util.ArrayList<>();
        List<Integer> emojiIndex = new java.util.ArrayList<>();            // the emoji's index within its set
        for (String set : sets) {
            ImageDataset d = data.load(set);
            captions.addAll(EmojiCaptions.of(data, set, true));
            IntStream.range(0, d.length()).forEach(emojiIndex::add);
            joined = joined == null ? d : ImageDataset.concat(dataset, joined, d);
        }
        ImageDataset all = joined.withPreprocess(Preprocess.NONE.withImageSize(imageSize).withChannels(3));
        // the same emoji are held out of every set: a held-out emoji is new in both styles
        int[] train = IntStream.range(0, all.length()).filter(i -> emojiIndex.get(i) % holdoutEvery != 0).toArray();
        int[] held = IntStream.range(0, all.length()).filter(i -> emojiIndex.get(i) % holdoutEvery == 0).toArray();
        List<String> prompts = all.classNames().stream().map(c -> "an emoji of " + c.toLowerCase(Locale.ROOT)).toList();
        try (NDManager m = NDManager.newBaseManager(device("auto"));
                ClipModel model = ClipModel.random(ClipTraining.emojiConfig(imageSize), seed, m)) {
            long t0 = System.nanoTime();
            ClipTraining.Result run = new ClipTraining(steps, batchSize, lr, weightDecay, seed, (step, loss) -> {
                if (step % 100 == 0 || step <= 5) {
                    System.out.printf(Locale.ROOT, "step %d: loss %.4f (%.0f s)%n", step, loss, (System.nanoTime() - t0) / 1e9);
                }
            }).withAugment(augment ? diffusionkit.clip.ClipAugment.forImageSize(imageSize) : null)
                    .train(model, tokenizer, all.subset(train), Arrays.stream(train).mapToObj(captions::get).toList());
            ImageDataset heldOut = all.subset(held);
            double zeroShot = ClipTraining.zeroShotAccuracy(model, tokenizer, heldOut, prompts);
            double recall = ClipTraining.recallAtK(model, tokenizer, heldOut, i -> captions.get(held[i]).get(0), 5);
            double majority = IntStream.range(0, all.classNames().size())
                    .map(c -> (int) Arrays.stream(held).filter(i -> all.label(i) == c).count()).max().orElse(0)
                    / (double) held.length;
            System.out.printf(Locale.ROOT, "%d steps in %.0f s; on %d held-out emoji: zero-shot category accuracy %.3f "
                    + "(most frequent category %.3f), text-to-image recall@5 %.3f (chance %.3f)%n", steps, run.seconds(),
                    held.length, zeroShot, majority, recall, 5.0 / held.length);
            model.savePretrained(output);
            for (String f : List.of("vocab.json", "merges.txt", "special_tokens_map.json")) {
                Files.copy(tokFolder.resolve(f), output.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            AtomicFiles.writeString(output.resolve("tokenizer_config.json"), tokenizerConfig(tokFolder));
            AtomicFiles.writeString(output.resolve("preprocessor_config.json"), preprocessorConfig(imageSize));
            JsonObject o = new JsonObject();
            o.addProperty("dataset", dataset);
            o.addProperty("augment", augment);
            o.addProperty("image_size", imageSize);
            o.addProperty("holdout_every", holdoutEvery);
            o.addProperty("steps", steps);
            o.addProperty("batch_size", batchSize);
            o.addProperty("lr", lr);
            o.addProperty("weight_decay", weightDecay);
            o.addProperty("seed", seed);
            o.addProperty("held_out", held.length);
            o.addProperty("zero_shot_accuracy", zeroShot);
            o.addProperty("most_frequent_category", majority);
            o.addProperty("recall_at_5", recall);
            o.addProperty("recall_at_5_chance", 5.0 / held.length);
            o.addProperty("seconds", run.seconds());
            o.addProperty("final_loss", run.losses().get(run.losses().size() - 1));
            AtomicFiles.writeString(output.resolve("training.json"), GSON.toJson(o) + "\n");
            System.out.println("saved " + output);
        }
        return 0;
    }

    /**
     * transformers' {@code CLIPImageProcessor} settings for this CLIP, as openai/clip-vit-base-patch32 writes them for
     * 224: resize the short side to the image size (bicubic), centre crop, rescale to [0, 1], normalise with CLIP's
     * mean and standard deviation.
     */
    static String preprocessorConfig(int imageSize) {
        final double[] openaiMean = {0.48145466, 0.4578275, 0.40821073};    // ClipLoss.MEAN, as written in
        final double[] openaiStd = {0.26862954, 0.26130258, 0.27577711};    // openai's preprocessor_config.json
        JsonObject o = new JsonObject();
        JsonObject crop = new JsonObject();
        crop.addProperty("height", imageSize);
        crop.addProperty("width", imageSize);
        o.add("crop_size", crop);
        o.addProperty("do_center_crop", true);
        o.addProperty("do_convert_rgb", true);
        o.addProperty("do_normalize", true);
        o.addProperty("do_rescale", true);
        o.addProperty("do_resize", true);
        com.google.gson.JsonArray mean = new com.google.gson.JsonArray();
        com.google.gson.JsonArray std = new com.google.gson.JsonArray();
        for (int c = 0; c < 3; c++) {
            mean.add(openaiMean[c]);
            std.add(openaiStd[c]);
        }
        o.add("image_mean", mean);
        o.addProperty("image_processor_type", "CLIPImageProcessor");
        o.add("image_std", std);
        o.addProperty("resample", 3);
        o.addProperty("rescale_factor", 1 / 255.0);
        JsonObject size = new JsonObject();
        size.addProperty("shortest_edge", imageSize);
        o.add("size", size);
        return GSON.toJson(o) + "\n";
    }

    /**
     * The tokenizer's {@code tokenizer_config.json} with {@code model_max_length} set to the model's text positions,
     * as transformers' {@code CLIPTokenizer} reads it.
     */
    static String tokenizerConfig(Path tokenizerFolder) throws java.io.IOException {
        JsonObject c = com.google.gson.JsonParser.parseString(Files.readString(tokenizerFolder.resolve("tokenizer_config.json")))
                .getAsJsonObject();
        c.addProperty("model_max_length", ClipTraining.CONTEXT_LENGTH);
        return GSON.toJson(c) + "\n";
    }
}
