package diffusionkit.classify;

import diffusionkit.data.Preprocess;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import diffusionkit.data.ImageDataset;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;
import diffusionkit.io.ModelFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * An image classifier of the kit: logits of images in [-1, 1], differentiable (so that classifier guidance can take
 * their gradient), saved as a folder of {@code config.json} ({@code _class_name} and the architecture) and
 * {@code model.safetensors}. {@link ImageClassifier} (any size and channel count, for guidance) and
 * {@link MnistClassifier} (28 x 28 digits, to grade samples) are the two; {@link ClassifierTraining} trains either;
 * {@link #load} reads either.
 */
public abstract class Classifier implements AutoCloseable {

    /** The configuration file of a saved classifier. */
    public static final String CONFIG_FILE = "config.json";
    /** The weights file of a saved classifier. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    /** The manager of the parameters. */
    protected final NDManager manager;
    /** The parameters by name, in the order the subclass creates them. */
    protected final Map<String, NDArray> params = new LinkedHashMap<>();

    /** Parameters live on a sub-manager of {@code manager}; null: a new manager on {@code device}. */
    protected Classifier(NDManager manager, Device device) {
        this.manager = manager == null ? NDManager.newBaseManager(device) : manager.newSubManager();
    }

    /** The logits [B, classes] of images [B, C, H, W] in [-1, 1]. */
    public abstract NDArray logits(NDArray images);

    /** The class names by label (their number is the number of classes). */
    public abstract List<String> classNames();

    /** The configuration, written as {@value #CONFIG_FILE}. */
    public abstract JsonConfig<?> config();

    /** The parameters by name (live arrays: do not close them). */
    public Map<String, NDArray> stateDict() {
        return Collections.unmodifiableMap(params);
    }

    /** The manager of the parameters. */
    public NDManager manager() {
        return manager;
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        manager.close();
    }

    /** The number of classes. */
    public int numClasses() {
        return classNames().size();
    }

    /** The number of scalar parameters. */
    public long numParameters() {
        return stateDict().values().stream().mapToLong(NDArray::size).sum();
    }

    /**
     * How this classifier's training images were prepared from a dataset's (resize, channels): {@link Preprocess#NONE}
     * unless a subclass says otherwise. {@link #prepare} applies it to images of another shape.
     */
    public Preprocess inputPreprocess() {
        return Preprocess.NONE;
    }

    /**
     * {@code images} [B, C, H, W] in [-1, 1] as this classifier reads them: unchanged when their channels and size
     * are already its input's, else resized and given its channels the way its training data was
     * ({@link #inputPreprocess()}), e.g. 28x28 grey samples for a classifier trained on 32x32 RGB.
     */
    public NDArray prepare(NDArray images) {
        Preprocess p = inputPreprocess();
        Shape s = images.getShape();
        boolean sizeOk = p.imageSize() == 0 || (s.get(2) == p.imageSize() && s.get(3) == p.imageSize());
        boolean channelsOk = p.channels() == 0 || s.get(1) == p.channels();
        return sizeOk && channelsOk ? images : p.applyTo(images);
    }

    /** The most likely class of each image, int64 [B]. */
    public NDArray predict(NDArray images) {
        try (NDArray l = logits(images)) {
            return l.argMax(1).toType(DataType.INT64, false);
        }
    }

    /** Marks every parameter as requiring (or not) a gradient: on for training, off for guidance. */
    public void setRequiresGradient(boolean requiresGradient) {
        for (NDArray p : stateDict().values()) {
            p.setRequiresGradient(requiresGradient);
        }
    }

    /** The share of {@code data}'s images whose predicted class is their label, evaluated in batches. */
    public double accuracy(ImageDataset data, int batchSize) {
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
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray logp = logits.logSoftmax(1);
        NDArray onehot = labels.oneHot((int) logits.getShape().get(1)).toType(logp.getDataType(), false);
        return logp.mul(onehot).sum(new int[] {1}).neg().mean();
    }

    /**
     * Copies a state dict with {@link #stateDict()}'s names and shapes into the parameters; nothing is copied unless
     * every tensor fits.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor
     */
    public void loadStateDict(Map<String, NDArray> loaded) {
        List<String> problems = new ArrayList<>();
        params.forEach((k, p) -> {
            NDArray a = loaded.get(k);
            if (a == null || !a.getShape().equals(p.getShape())) {
                problems.add(a == null ? "missing " + k : k + " is " + a.getShape() + ", expected " + p.getShape());
            }
        });
        loaded.keySet().stream().filter(k -> !params.containsKey(k)).forEach(k -> problems.add("unexpected " + k));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems) + ". Save " + CONFIG_FILE + " and "
                    + WEIGHTS_FILE + " together (save(folder)).");
        }
        params.forEach((k, p) -> diffusionkit.util.Tensors.copyInto(loaded.get(k), p));
    }

    /** Writes {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE} into {@code folder}, atomically. */
    public void save(Path folder) throws IOException {
        ModelFolder.save(folder, config(), WEIGHTS_FILE, stateDict());
    }

    /**
     * Loads a saved classifier of either kind, by the {@code _class_name} of its {@value #CONFIG_FILE}.
     *
     * @param manager parameters live on a sub-manager of it (null: a new one)
     * @throws CheckpointException naming the folder and the missing, unreadable or unfitting file
     */
    public static Classifier load(Path folder, NDManager manager) throws IOException {
        return load(folder, manager, Classifier.class);
    }

    /**
     * Loads a saved classifier that must be a {@code type} ({@link ImageClassifier}, {@link MnistClassifier} or
     * either: {@code Classifier}).
     *
     * @throws CheckpointException naming the folder and the missing, unreadable or unfitting file
     */
    public static <C extends Classifier> C load(Path folder, NDManager manager, Class<C> type) throws IOException {
        String fix = "train one (./kit train-classifier, or ClassifierTraining then save(folder)) or point to the "
                + "folder that holds both files.";
        List<String> missing = Stream.of(CONFIG_FILE, WEIGHTS_FILE).filter(f -> !Files.isRegularFile(folder.resolve(f)))
                .toList();
        if (!missing.isEmpty()) {
            throw new CheckpointException("classifier folder " + folder + " lacks " + String.join(" and ", missing) + ": "
                    + fix);
        }
        Path file = folder.resolve(CONFIG_FILE);
        Supplier<Classifier> create = JsonConfig.read(file, CONFIG_FILE, "classifier config", fix, (o, source) -> {
            String name = JsonConfig.className(o.get(JsonConfig.CLASS_NAME_KEY));
            if (type != Classifier.class && !type.getSimpleName().equals(name)) {
                throw new IllegalArgumentException(source + ": _class_name must be " + type.getSimpleName() + ", got "
                        + name + " (Classifier.load reads any classifier of the kit)");
            }
            if (ImageClassifier.CLASS_NAME.equals(name)) {
                ImageClassifier.Config c = new ImageClassifier.Config(o.asMap(), source);
                return () -> new ImageClassifier(c, manager);
            } else if (MnistClassifier.CLASS_NAME.equals(name)) {
                MnistClassifier.Config c = new MnistClassifier.Config(o.asMap(), source);
                return () -> new MnistClassifier(c.numClasses(), 0, manager);
            }
            throw new IllegalArgumentException(source + ": _class_name is '" + name + "', not a classifier of the kit ("
                    + ImageClassifier.CLASS_NAME + " or " + MnistClassifier.CLASS_NAME + ")");
        });
        return type.cast(ModelFolder.load(file, create, scratch -> ModelFolder.readWeights(folder, WEIGHTS_FILE, scratch),
                Classifier::loadStateDict));
    }
}
