package diffusionkit.classify;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import diffusionkit.data.ImageDataset;
import diffusionkit.io.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An image classifier of the kit: logits of images in [-1, 1], differentiable (so that classifier guidance can take
 * their gradient), saved as a folder of {@code config.json} ({@code _class_name} and the architecture) and
 * {@code model.safetensors}. {@link ImageClassifier} (any size and channel count, for guidance) and
 * {@link MnistClassifier} (28 x 28 digits, to grade samples) are the two; {@link ClassifierTraining} trains either;
 * {@link #load} reads either.
 */
public interface Classifier extends AutoCloseable {

    /** The configuration file of a saved classifier. */
    String CONFIG_FILE = "config.json";
    /** The weights file of a saved classifier. */
    String WEIGHTS_FILE = "model.safetensors";

    /** The logits [B, classes] of images [B, C, H, W] in [-1, 1]. */
    NDArray logits(NDArray images);

    /** The class names by label (their number is the number of classes). */
    List<String> classNames();

    /** The parameters by name (live arrays: do not close them). */
    Map<String, NDArray> stateDict();

    /** The manager of the parameters. */
    NDManager manager();

    /** Writes {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE} into {@code folder}, atomically. */
    void save(Path folder) throws IOException;

    /** Frees the parameters. */
    @Override
    void close();

    /** The number of classes. */
    default int numClasses() {
        return classNames().size();
    }

    /** The number of scalar parameters. */
    default long numParameters() {
        return stateDict().values().stream().mapToLong(NDArray::size).sum();
    }

    /** The most likely class of each image, int64 [B]. */
    default NDArray predict(NDArray images) {
        try (NDArray l = logits(images)) {
            return l.argMax(1).toType(DataType.INT64, false);
        }
    }

    /** Marks every parameter as requiring (or not) a gradient: on for training, off for guidance. */
    default void setRequiresGradient(boolean requiresGradient) {
        for (NDArray p : stateDict().values()) {
            p.setRequiresGradient(requiresGradient);
        }
    }

    /** The share of {@code data}'s images whose predicted class is their label, evaluated in batches. */
    default double accuracy(ImageDataset data, int batchSize) {
        long correct = 0;
        for (int[] idx : data.inOrder(batchSize)) {
            try (NDManager m = manager().newSubManager(); ImageDataset.Batch batch = data.batch(m, idx, 0)) {
                NDArray pred = predict(batch.images().toDevice(m.getDevice(), false));
                correct += pred.eq(batch.labels().toDevice(m.getDevice(), false)).sum().getLong();
            }
        }
        return (double) correct / data.length();
    }

    /** Cross-entropy of logits [B, classes] against int labels [B], the mean over the batch (PyTorch's default). */
    static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray logp = logits.logSoftmax(1);
        NDArray onehot = labels.oneHot((int) logits.getShape().get(1)).toType(logp.getDataType(), false);
        return logp.mul(onehot).sum(new int[] {1}).neg().mean();
    }

    /**
     * Loads a saved classifier of either kind, by the {@code _class_name} of its {@value #CONFIG_FILE}.
     *
     * @param manager parameters live on a sub-manager of it (null: a new one)
     * @throws CheckpointException naming the folder and the missing, unreadable or unfitting file
     */
    static Classifier load(Path folder, NDManager manager) throws IOException {
        JsonObject config = readConfig(folder);
        String name = config.has("_class_name") ? config.get("_class_name").getAsString() : "";
        return switch (name) {
            case ImageClassifier.CLASS_NAME -> ImageClassifier.load(folder, manager);
            case MnistClassifier.CLASS_NAME -> MnistClassifier.load(folder, manager);
            default -> throw new CheckpointException(folder.resolve(CONFIG_FILE) + ": _class_name is '" + name
                    + "', not a classifier of the kit (" + ImageClassifier.CLASS_NAME + " or "
                    + MnistClassifier.CLASS_NAME + ")");
        };
    }

    /**
     * The {@value #CONFIG_FILE} of a classifier folder that also holds {@value #WEIGHTS_FILE}.
     *
     * @throws CheckpointException naming the folder and what it lacks, or the unreadable file
     */
    static JsonObject readConfig(Path folder) throws IOException {
        Path cfg = folder.resolve(CONFIG_FILE);
        Path weights = folder.resolve(WEIGHTS_FILE);
        List<String> missing = new java.util.ArrayList<>();
        if (!Files.isRegularFile(cfg)) {
            missing.add(CONFIG_FILE);
        }
        if (!Files.isRegularFile(weights)) {
            missing.add(WEIGHTS_FILE);
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("classifier folder " + folder + " lacks " + String.join(" and ", missing)
                    + ": train one (./kit train-classifier, or ClassifierTraining then save(folder)) or point to the "
                    + "folder that holds both files.");
        }
        try {
            return JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new CheckpointException(cfg + " is not a JSON object: " + e.getMessage(), e);
        }
    }

    /** Writes a classifier folder: {@code config} as {@value #CONFIG_FILE} and {@code params}, atomically. */
    static void writeFolder(Path folder, JsonObject config, Map<String, NDArray> params) throws IOException {
        diffusionkit.util.AtomicFiles.writeFolder(folder.toAbsolutePath(), tmp -> {
            Files.writeString(tmp.resolve(CONFIG_FILE), new com.google.gson.GsonBuilder().setPrettyPrinting()
                    .disableHtmlEscaping().create().toJson(config) + "\n");
            diffusionkit.io.Safetensors.write(tmp.resolve(WEIGHTS_FILE), params, Map.of("format", "pt"));
        });
    }

    /**
     * Copies the {@value #WEIGHTS_FILE} of {@code folder} into {@code params} (same names and shapes).
     *
     * @throws CheckpointException listing every missing, unexpected and mis-shaped tensor
     */
    static void readWeights(Path folder, Map<String, NDArray> params) throws IOException {
        Path file = folder.resolve(WEIGHTS_FILE);
        try (NDManager cpu = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Map<String, NDArray> loaded = diffusionkit.io.Safetensors.read(file, cpu);
            List<String> problems = new java.util.ArrayList<>();
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray a = loaded.get(e.getKey());
                if (a == null) {
                    problems.add("missing " + e.getKey());
                } else if (!a.getShape().equals(e.getValue().getShape())) {
                    problems.add(e.getKey() + " is " + a.getShape() + ", expected " + e.getValue().getShape());
                }
            }
            loaded.keySet().stream().filter(k -> !params.containsKey(k)).forEach(k -> problems.add("unexpected " + k));
            if (!problems.isEmpty()) {
                throw new CheckpointException(file + " does not fit the classifier of its " + CONFIG_FILE + ": "
                        + String.join("; ", problems) + ". Save " + CONFIG_FILE + " and " + WEIGHTS_FILE
                        + " together (save(folder)).");
            }
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray src = loaded.get(e.getKey()).toType(e.getValue().getDataType(), false);
                e.getValue().set(src.toFloatArray());
            }
        }
    }
}
