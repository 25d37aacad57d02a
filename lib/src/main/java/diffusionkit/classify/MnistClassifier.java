package diffusionkit.classify;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.data.ImageDataset;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import diffusionkit.training.AdamW;
import diffusionkit.training.TrainingChecks;
import diffusionkit.util.AtomicFiles;
import diffusionkit.util.Convolutions;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;

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
 * bound 1/sqrt(fan_in); training is softmax cross-entropy with AdamW (weight decay 0).
 *
 * <p>Folder layout: {@code config.json} ({@code {"_class_name": "MnistClassifier", "num_classes": 10, ...}}) and
 * {@code model.safetensors}.
 */
public final class MnistClassifier implements AutoCloseable {

    /** The config file of a saved classifier. */
    public static final String CONFIG_NAME = "config.json";
    /** The weights file of a saved classifier. */
    public static final String WEIGHTS_NAME = "model.safetensors";
    /** {@code _class_name} in the config. */
    public static final String CLASS_NAME = "MnistClassifier";

    private static final int C1 = 16;
    private static final int C2 = 32;
    private static final int HIDDEN = 128;

    private final int numClasses;
    private final NDManager manager;
    private final Map<String, NDArray> params = new LinkedHashMap<>();

    /**
     * A randomly initialised classifier.
     *
     * @param numClasses number of classes (10)
     * @param seed initialisation seed
     * @param manager parameters live on a sub-manager of it (null: a new CPU manager)
     */
    public MnistClassifier(int numClasses, long seed, NDManager manager) {
        this.numClasses = numClasses;
        this.manager = manager == null ? NDManager.newBaseManager(Device.cpu()) : manager.newSubManager();
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

    /** Number of classes. */
    public int numClasses() {
        return numClasses;
    }

    /** The live parameters by name. */
    public Map<String, NDArray> parameters() {
        return params;
    }

    /**
     * The logits [N, classes] for images [N, 1, 28, 28] in [-1, 1] (differentiable).
     *
     * @throws IllegalArgumentException when the images are not [N, 1, 28, 28]
     */
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

    /** The predicted class of each image [N, 1, 28, 28] in [-1, 1]. */
    public long[] predict(NDArray images) {
        try (NDArray l = logits(images); NDArray am = l.argMax(1)) {
            return am.toType(DataType.INT64, false).toLongArray();
        }
    }

    /** The mean softmax cross-entropy of logits [N, C] against int labels [N]. */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray oneHot = labels.oneHot((int) logits.getShape().get(1)).toType(DataType.FLOAT32, false);
        return logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).mean().neg();
    }

    /**
     * Trains for {@code epochs} with batch {@code batchSize} and AdamW(lr, weight decay 0).
     *
     * @param data labelled images (Preprocess NONE: 28 x 28 grey)
     * @param onStep called after each step with the step number (may be null)
     */
    public void train(ImageDataset data, int epochs, int batchSize, double lr, long seed, LongConsumer onStep) {
        AdamW opt = AdamW.builder().optLearningRate(lr).optWeightDecay(0).optDevice(manager.getDevice()).build();
        long step = 0;
        for (int e = 0; e < epochs; e++) {
            for (int[] idx : data.batches(batchSize, seed, e)) {
                try (NDManager sm = manager.newSubManager(); ImageDataset.Batch b = data.batch(sm, idx, seed)) {
                    double l;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray loss = crossEntropy(logits(b.images()), b.labels());
                        gc.backward(loss);
                        l = loss.getFloat();
                    }
                    TrainingChecks.requireFinite("training the MNIST classifier", l, params, step + 1, e, lr,
                            () -> null);
                    opt.step(params);
                    AdamW.zeroGradients(params);
                }
                step++;
                if (onStep != null) {
                    onStep.accept(step);
                }
            }
        }
    }

    /** The share of {@code data} classified correctly, evaluated in batches of 500. */
    public double accuracy(ImageDataset data) {
        long correct = 0;
        for (int[] idx : data.inOrder(500)) {
            try (NDManager sm = manager.newSubManager(); ImageDataset.Batch b = data.batch(sm, idx, 0)) {
                long[] pred = predict(b.images());
                long[] y = b.labels().toLongArray();
                for (int i = 0; i < y.length; i++) {
                    if (pred[i] == y[i]) {
                        correct++;
                    }
                }
            }
        }
        return (double) correct / data.length();
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code folder}, atomically. */
    public void save(Path folder) throws IOException {
        Path target = folder.toAbsolutePath();
        AtomicFiles.writeFolder(target, tmp -> {
            JsonObject c = new JsonObject();
            c.addProperty("_class_name", CLASS_NAME);
            c.addProperty("num_classes", numClasses);
            c.addProperty("architecture", "conv5x5(1->16)+relu+maxpool2, conv5x5(16->32)+relu+maxpool2, "
                    + "fc(1568->128)+relu, fc(128->num_classes)");
            c.addProperty("input", "[N, 1, 28, 28] in [-1, 1]");
            Files.writeString(tmp.resolve(CONFIG_NAME), c + "\n", StandardCharsets.UTF_8);
            Safetensors.write(tmp.resolve(WEIGHTS_NAME), params, Map.of("format", "pt"));
        });
    }

    /**
     * Loads a classifier saved by {@link #save}.
     *
     * @throws CheckpointException when the folder is not a MnistClassifier folder or the weights do not fit
     */
    public static MnistClassifier load(Path folder, NDManager manager) throws IOException {
        Path cfg = folder.resolve(CONFIG_NAME);
        Path w = folder.resolve(WEIGHTS_NAME);
        if (!Files.isRegularFile(cfg) || !Files.isRegularFile(w)) {
            throw new CheckpointException(folder + " is not a MnistClassifier folder (needs " + CONFIG_NAME + " and "
                    + WEIGHTS_NAME + "); train one with MnistClassifierTraining or use datasets/models/mnist-classifier");
        }
        JsonObject c = JsonParser.parseString(Files.readString(cfg, StandardCharsets.UTF_8)).getAsJsonObject();
        if (!c.has("_class_name") || !CLASS_NAME.equals(c.get("_class_name").getAsString())) {
            throw new CheckpointException(cfg + ": _class_name must be " + CLASS_NAME + ", got " + c.get("_class_name"));
        }
        MnistClassifier m = new MnistClassifier(c.get("num_classes").getAsInt(), 0, manager);
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> loaded = Safetensors.read(w, cpu);
            for (Map.Entry<String, NDArray> e : m.params.entrySet()) {
                NDArray src = loaded.get(e.getKey());
                if (src == null || !src.getShape().equals(e.getValue().getShape())) {
                    m.close();
                    throw new CheckpointException(w + ": tensor " + e.getKey() + " missing or of shape "
                            + (src == null ? "-" : src.getShape()) + ", expected " + e.getValue().getShape());
                }
                src.copyTo(e.getValue());
            }
        }
        return m;
    }

    @Override
    public void close() {
        manager.close();
    }
}
