package diffusionkit.classify;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import com.google.gson.JsonElement;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;
import diffusionkit.util.Convolutions;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A small LeNet-like CNN for 28 x 28 grey digits (MNIST / Fashion-MNIST), trained by the kit and used to judge
 * generated samples.
 *
 * <pre>
 * x [N, 1, 28, 28] in [-1, 1]
 * conv1 5x5, 1 -> 16, pad 2, ReLU, max-pool 2     -> [N, 16, 14, 14]
 * conv2 5x5, 16 -> 32, pad 2, ReLU, max-pool 2    -> [N, 32, 7, 7]
 * fc1 1568 -> 128, ReLU; fc2 128 -> 10            -> logits
 * </pre>
 * Parameters use PyTorch's names ({@code conv1.weight}, ... {@code fc2.bias}) and its default initialisation
 * bound 1/sqrt(fan_in); {@link ClassifierTraining#mnist()} trains it (softmax cross-entropy, AdamW without weight
 * decay), {@code ./kit train-classifier} from the command line.
 *
 * <p>Folder layout: {@code config.json} ({@link Config}: {@code {"_class_name": "MnistClassifier", "num_classes": 10,
 * ...}}) and {@code model.safetensors}.
 */
public final class MnistClassifier extends Classifier {

    /** {@code _class_name} in the config. */
    public static final String CLASS_NAME = "MnistClassifier";

    private static final int C1 = 16;
    private static final int C2 = 32;
    private static final int HIDDEN = 128;

    /** The keys of {@code config.json}, each declared once with its default. */
    public static final class Config extends JsonConfig<Config> {
        /** {@code num_classes}. */
        public static final Field<Integer> NUM_CLASSES = field("num_classes", 10);
        /** {@code architecture}: the layers, for readers of the file. */
        public static final Field<String> ARCHITECTURE = field("architecture", "conv5x5(1->16)+relu+maxpool2, "
                + "conv5x5(16->32)+relu+maxpool2, fc(1568->128)+relu, fc(128->num_classes)");
        /** {@code input}: the images it reads, for readers of the file. */
        public static final Field<String> INPUT = field("input", "[N, 1, 28, 28] in [-1, 1]");

        private static final Kind<Config> KIND = new Kind<>(CLASS_NAME + " config", CONFIG_FILE, CLASS_NAME,
                List.of(NUM_CLASSES, ARCHITECTURE, INPUT), Config::new);

        Config(Map<String, JsonElement> values, String source) {
            super(KIND, values, source);
        }

        /** {@code num_classes}. */
        public int numClasses() {
            return get(NUM_CLASSES);
        }
    }

    private final Config config;

    /**
     * A randomly initialised classifier.
     *
     * @param numClasses number of classes (10)
     * @param seed initialisation seed
     * @param manager parameters live on a sub-manager of it (null: a new CPU manager)
     */
    public MnistClassifier(int numClasses, long seed, NDManager manager) {
        super(manager, Device.cpu());
        this.config = new Config(Map.of(), "code").with(Config.NUM_CLASSES, numClasses);
        SeededNoise g = new SeededNoise(seed);
        init(g, "conv1", new Shape(C1, 1, 5, 5), 25);
        init(g, "conv2", new Shape(C2, C1, 5, 5), C1 * 25);
        init(g, "fc1", new Shape(HIDDEN, C2 * 49), C2 * 49);
        init(g, "fc2", new Shape(numClasses, HIDDEN), HIDDEN);
        params.values().forEach(p -> p.setRequiresGradient(true));
    }

    private void init(SeededNoise g, String name, Shape w, long fanIn) {
        float bound = (float) (1 / Math.sqrt(fanIn)); // PyTorch's default bound for Conv2d / Linear
        try (NDArray u = g.rand(manager, w); NDArray ub = g.rand(manager, new Shape(w.get(0)))) {
            params.put(name + ".weight", u.mul(2 * bound).sub(bound));
            params.put(name + ".bias", ub.mul(2 * bound).sub(bound));
        }
    }

    /** The digits "0", "1", ... (one name per class). */
    @Override
    public List<String> classNames() {
        return java.util.stream.IntStream.range(0, config.numClasses()).mapToObj(Integer::toString).toList();
    }

    /**
     * The logits [N, classes] for images [N, 1, 28, 28] in [-1, 1] (differentiable).
     *
     * @throws IllegalArgumentException when the images are not [N, 1, 28, 28]
     */
    @Override
    public NDArray logits(NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != 1 || s.get(2) != 28 || s.get(3) != 28) {
            throw new IllegalArgumentException("MnistClassifier: images must be [N, 1, 28, 28] in [-1, 1], got " + s);
        }
        NDManager caller = x.getManager();
        try (NDManager sub = caller.newSubManager()) {
            Shape two = new Shape(2, 2);
            NDArray h = Convolutions.conv2d(x, p("conv1.weight"), p("conv1.bias"), 1, 2);
            h.attach(sub);
            h = Pool.maxPool2d(Activation.relu(h), two, two, new Shape(0, 0), false);
            h.attach(sub);
            h = Convolutions.conv2d(h, p("conv2.weight"), p("conv2.bias"), 1, 2);
            h.attach(sub);
            h = Pool.maxPool2d(Activation.relu(h), two, two, new Shape(0, 0), false).reshape(s.get(0), C2 * 49);
            h.attach(sub);
            h = Activation.relu(Linear.linear(h, p("fc1.weight"), p("fc1.bias")).singletonOrThrow());
            h.attach(sub);
            NDArray out = Linear.linear(h, p("fc2.weight"), p("fc2.bias")).singletonOrThrow();
            out.attach(caller);
            return out;
        }
    }

    private NDArray p(String name) {
        return params.get(name);
    }

    /** The configuration ({@code num_classes}). */
    @Override
    public Config config() {
        return config;
    }

    /**
     * Loads a classifier saved by {@link #save}.
     *
     * @throws CheckpointException when the folder is not a MnistClassifier folder or the weights do not fit
     */
    public static MnistClassifier load(Path folder, NDManager manager) throws IOException {
        return Classifier.load(folder, manager, MnistClassifier.class);
    }
}
