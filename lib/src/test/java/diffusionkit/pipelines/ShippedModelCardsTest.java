package diffusionkit.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.classify.Classifier;
import diffusionkit.io.Safetensors;
import diffusionkit.models.ClassConditionedUNet;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Every shipped model folder ({@code datasets/models/*}) has a card with a Python section ({@link ModelCard#PYTHON_HEADING})
 * whose snippet names the loader of its kind, the folder and the files the kit writes: a text check.
 * {@code environment/reference/check_model_cards.py} runs these snippets with diffusers and transformers and compares
 * what they load with the kit's Java loaders (max |python - java| about 1e-6).
 */
class ShippedModelCardsTest {

    static final Path MODELS = Path.of("../datasets/models");

    @Test
    void everyShippedModelCardHasAPythonSnippetWithTheLoaderOfItsKind() throws Exception {
        List<String> checked = new ArrayList<>();
        try (Stream<Path> folders = Files.list(MODELS)) {
            for (Path folder : folders.filter(Files::isDirectory).sorted().toList()) {
                String name = folder.getFileName().toString();
                String section = pythonSection(folder);
                String code = pythonCode(section, name);
                String path = "datasets/models/" + name;
                String kind = kind(folder);
                switch (kind) {
                    case "pipeline" -> assertTrue(section.strip().startsWith(ModelCard.pipelinePythonUsage(path).strip()),
                            name + ": the card's Python section must start with ModelCard.pipelinePythonUsage(\"" + path
                                    + "\"), the text of the cards the kit writes:\n" + ModelCard.pipelinePythonUsage(path));
                    case "class-conditioned" -> classConditioned(folder, code);
                    case "clip" -> contains(name, code, "folder = \"" + path + "\"", "CLIPModel.from_pretrained(folder)",
                            "CLIPProcessor.from_pretrained(folder)");
                    case "tokenizer" -> contains(name, code, "CLIPTokenizer.from_pretrained(\"" + path + "\")");
                    case "classifier" -> classifier(folder, code);
                    default -> fail(name + ": a model folder of an unknown kind (" + kind + "): give its card a Python "
                            + "snippet and this test a case for it");
                }
                checked.add(name + " (" + kind + ")");
            }
        }
        assertEquals(List.of("clip-tokenizer (tokenizer)", "emoji-animals (pipeline)", "emoji-base (pipeline)",
                "emoji-clip (clip)", "fashion-conditional (class-conditioned)", "fashion-mnist-classifier-32 (classifier)",
                "mnist-classifier (classifier)", "mnist-conditional (class-conditioned)"), checked);
    }

    /** The course's ClassConditionedUnet over the folder's files, with its null class and the course's order. */
    private static void classConditioned(Path folder, String code) throws Exception {
        String name = folder.getFileName().toString();
        JsonObject cfg = json(folder.resolve(ClassConditionedUNet.CONFIG_NAME));
        int numClasses = cfg.get("num_classes").getAsInt();
        contains(name, code, "folder = \"datasets/models/" + name + "\"",
                "json.load(open(f\"{folder}/" + ClassConditionedUNet.CONFIG_NAME + "\"))",
                "self.class_emb = nn.Embedding(rows, config[\"class_emb_size\"])",
                "load_file(f\"{folder}/" + ClassConditionedUNet.CLASS_EMB_NAME + "\")",
                "self.model = UNet2DModel.from_pretrained(folder, subfolder=\"" + ClassConditionedUNet.UNET_FOLDER + "\")",
                "DDPMScheduler.from_pretrained(folder, subfolder=\"scheduler\")",
                // the image first, then the class channels: NDArrays.concat(sample, map) in ClassConditionedUNet
                "net_input = torch.cat((x, class_cond), 1)",
                "y = torch.tensor([[i] * 8 for i in range(" + numClasses + ")]).flatten()");
        if (cfg.get("null_class").getAsBoolean()) {
            contains(name, code, "rows = config[\"num_classes\"] + (1 if config[\"null_class\"] else 0)",
                    "torch.full_like(y, " + numClasses + ")");
        }
        assertTrue(Files.isRegularFile(folder.resolve("scheduler/scheduler_config.json")), name + ": scheduler/");
    }

    /** The classifier written out as an nn.Module whose attributes are the weights' top-level names. */
    private static void classifier(Path folder, String code) throws Exception {
        String name = folder.getFileName().toString();
        String cls = json(folder.resolve(Classifier.CONFIG_FILE)).get("_class_name").getAsString();
        contains(name, code, "class " + cls + "(nn.Module):", "folder = \"datasets/models/" + name + "\"",
                "classifier.load_state_dict(load_file(f\"{folder}/" + Classifier.WEIGHTS_FILE + "\"))");
        Set<String> modules = new TreeSet<>();
        for (Safetensors.TensorInfo t : Safetensors.readHeader(folder.resolve(Classifier.WEIGHTS_FILE)).tensors()) {
            modules.add(t.name().substring(0, t.name().indexOf('.')));
        }
        assertFalse(modules.isEmpty(), name);
        for (String m : modules) {
            contains(name, code, "self." + m + " = ");
        }
    }

    private static String kind(Path folder) throws Exception {
        if (Files.isRegularFile(folder.resolve("model_index.json"))) {
            String cls = json(folder.resolve("model_index.json")).get("_class_name").getAsString();
            return cls.equals("DDPMPipeline") ? "pipeline" : "pipeline " + cls;
        }
        if (Files.isRegularFile(folder.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            return "class-conditioned";
        }
        if (Files.isRegularFile(folder.resolve("config.json"))) {
            JsonObject cfg = json(folder.resolve("config.json"));
            if (cfg.has("model_type") && cfg.get("model_type").getAsString().equals("clip")) {
                return "clip";
            }
            String cls = cfg.has("_class_name") ? cfg.get("_class_name").getAsString() : "";
            return Set.of("MnistClassifier", "ImageClassifier").contains(cls) ? "classifier" : "config " + cls;
        }
        return Files.isRegularFile(folder.resolve("vocab.json")) && Files.isRegularFile(folder.resolve("merges.txt"))
                ? "tokenizer" : "no config";
    }

    /** The card's section under {@link ModelCard#PYTHON_HEADING}, up to the next section. */
    static String pythonSection(Path folder) throws Exception {
        List<Path> cards = Stream.of("MODEL_CARD.md", "README.md").map(folder::resolve).filter(Files::isRegularFile).toList();
        assertEquals(1, cards.size(), folder + ": one card, MODEL_CARD.md or README.md");
        String text = Files.readString(cards.get(0));
        int start = text.indexOf(ModelCard.PYTHON_HEADING + "\n");
        assertTrue(start >= 0, cards.get(0) + " has no section '" + ModelCard.PYTHON_HEADING + "'");
        String rest = text.substring(start + ModelCard.PYTHON_HEADING.length() + 1);
        int next = rest.indexOf("\n## ");
        return next < 0 ? rest : rest.substring(0, next + 1);
    }

    private static String pythonCode(String section, String name) {
        int start = section.indexOf("```python\n");
        assertTrue(start >= 0, name + ": no ```python block in its Python section");
        int end = section.indexOf("\n```", start);
        assertTrue(end > start, name + ": the ```python block is not closed");
        return section.substring(start + "```python\n".length(), end + 1);
    }

    private static void contains(String name, String code, String... parts) {
        for (String p : parts) {
            assertTrue(code.contains(p), name + ": its card's Python snippet lacks `" + p + "`");
        }
    }

    private static JsonObject json(Path file) throws Exception {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }
}
