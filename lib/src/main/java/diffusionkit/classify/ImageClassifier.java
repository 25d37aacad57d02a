package diffusionkit.classify;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import diffusionkit.io.CheckpointException;
import diffusionkit.models.Conv2dLayer;
import diffusionkit.models.LinearLayer;
import diffusionkit.util.DeviceChoice;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small convolutional image classifier for classifier guidance:
 *
 * <pre>
 * x [B, C, H, W] in [-1, 1]
 *   convs.0: Conv2d(C, c0, 3, padding 1) → SiLU
 *   convs.i: Conv2d(c(i−1), ci, 3, stride 2, padding 1) → SiLU      (i = 1 .. n−1)
 *   mean over H, W                                                 (global average pooling)
 *   head: Linear(c(n−1), classes)                                  → logits [B, classes]
 * </pre>
 *
 * Parameters are kept by PyTorch-style names ({@code convs.0.weight}, {@code head.bias}); a folder holds
 * {@code config.json} ({@code in_channels}, {@code image_size}, {@code channels}, {@code num_classes},
 * {@code class_names}) and {@code model.safetensors}. Global pooling makes it accept any image size, but it is
 * only trained at {@code image_size}.
 */
public final class ImageClassifier implements Classifier {

    /** {@code _class_name} in the config. */
    public static final String CLASS_NAME = "ImageClassifier";

    /**
     * The architecture.
     *
     * @param inChannels image channels (3 for RGB)
     * @param imageSize the side the classifier is trained at
     * @param channels the channels of the convolutions (each after the first halves the size)
     * @param classNames one name per class (their number is the number of classes)
     */
    public record Config(int inChannels, int imageSize, int[] channels, List<String> classNames) {

        /** Checks the values. */
        public Config {
            if (inChannels < 1 || imageSize < 1 || channels == null || channels.length < 1 || classNames == null
                    || classNames.size() < 2) {
                throw new IllegalArgumentException("ImageClassifier config: in_channels and image_size must be >= 1, "
                        + "channels must list at least one layer and class_names at least two classes; got in_channels "
                        + inChannels + ", image_size " + imageSize + ", channels " + java.util.Arrays.toString(channels)
                        + ", class_names " + classNames);
            }
            channels = channels.clone();
            classNames = List.copyOf(classNames);
        }

        /** The number of classes. */
        public int numClasses() {
            return classNames.size();
        }

        /** The config as JSON. */
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("_class_name", CLASS_NAME);
            o.addProperty("in_channels", inChannels);
            o.addProperty("image_size", imageSize);
            JsonArray ch = new JsonArray();
            for (int c : channels) {
                ch.add(c);
            }
            o.add("channels", ch);
            o.addProperty("num_classes", numClasses());
            JsonArray names = new JsonArray();
            classNames.forEach(names::add);
            o.add("class_names", names);
            return o;
        }

        /** Reads a config written by {@link #toJson}. */
        public static Config fromJson(JsonObject o) {
            for (String k : new String[] {"in_channels", "image_size", "channels", "class_names"}) {
                if (!o.has(k)) {
                    throw new IllegalArgumentException("ImageClassifier config.json has no \"" + k + "\"");
                }
            }
            JsonArray ch = o.getAsJsonArray("channels");
            int[] channels = new int[ch.size()];
            for (int i = 0; i < channels.length; i++) {
                channels[i] = ch.get(i).getAsInt();
            }
            List<String> names = new ArrayList<>();
            o.getAsJsonArray("class_names").forEach(e -> names.add(e.getAsString()));
            return new Config(o.get("in_channels").getAsInt(), o.get("image_size").getAsInt(), channels, names);
        }
    }

    private final Config config;
    private final NDManager manager;
    private final List<Conv2dLayer> convs = new ArrayList<>();
    private final LinearLayer head;
    private final Map<String, NDArray> params = new LinkedHashMap<>();

    /**
     * A randomly initialised classifier (PyTorch's default initialisation).
     *
     * @param manager parameters live on a sub-manager of it; null: a new manager on {@link DeviceChoice#device()}
     */
    public ImageClassifier(Config config, NDManager manager) {
        this.config = config;
        this.manager = manager == null ? NDManager.newBaseManager(DeviceChoice.device()) : manager.newSubManager();
        int in = config.inChannels();
        int[] ch = config.channels();
        for (int i = 0; i < ch.length; i++) {
            Conv2dLayer conv = new Conv2dLayer(this.manager, in, ch[i], 3, i == 0 ? 1 : 2, 1);
            convs.add(conv);
            put("convs." + i, conv.weight(), conv.bias());
            in = ch[i];
        }
        head = new LinearLayer(this.manager, in, config.numClasses());
        put("head", head.weight(), head.bias());
    }

    private void put(String prefix, Parameter weight, Parameter bias) {
        params.put(prefix + ".weight", weight.getArray());
        params.put(prefix + ".bias", bias.getArray());
    }

    /** The logits [B, classes] of images [B, C, H, W] in [-1, 1]. */
    @Override
    public NDArray logits(NDArray x) {
        if (x.getShape().dimension() != 4 || x.getShape().get(1) != config.inChannels()) {
            throw new IllegalArgumentException("ImageClassifier expects images [B, " + config.inChannels()
                    + ", H, W], got " + x.getShape());
        }
        NDArray h = x;
        for (Conv2dLayer conv : convs) {
            NDArray z = conv.forward(h);
            h = z.mul(Activation.sigmoid(z));                              // SiLU
        }
        long b = h.getShape().get(0);
        long c = h.getShape().get(1);
        h = h.reshape(b, c, -1).mean(new int[] {2});                       // global average pooling
        return head.forward(h);
    }

    /** The configuration. */
    public Config config() {
        return config;
    }

    /** The class names by label. */
    @Override
    public List<String> classNames() {
        return config.classNames();
    }

    /** The parameters by name (live arrays: do not close them). */
    @Override
    public Map<String, NDArray> stateDict() {
        return Collections.unmodifiableMap(params);
    }

    /** The manager of the parameters. */
    @Override
    public NDManager manager() {
        return manager;
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code folder}, atomically. */
    @Override
    public void save(Path folder) throws IOException {
        Classifier.writeFolder(folder, config.toJson(), params);
    }

    /**
     * Loads a folder written by {@link #save}.
     *
     * @throws CheckpointException naming the folder and the missing or unfitting file
     */
    public static ImageClassifier load(Path folder, NDManager manager) throws IOException {
        JsonObject json = Classifier.readConfig(folder);
        Config config;
        try {
            config = Config.fromJson(json);
        } catch (IllegalStateException | IllegalArgumentException | ClassCastException e) {
            throw new CheckpointException(folder.resolve(CONFIG_FILE) + " is not an ImageClassifier config: "
                    + e.getMessage(), e);
        }
        ImageClassifier c = new ImageClassifier(config, manager);
        try {
            Classifier.readWeights(folder, c.params);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        manager.close();
    }

    @Override
    public String toString() {
        return "ImageClassifier(" + config.toJson() + ", " + numParameters() + " parameters)";
    }
}
