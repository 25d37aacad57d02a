package diffusionkit.classify;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;
import diffusionkit.models.Conv2dLayer;
import diffusionkit.models.LinearLayer;
import diffusionkit.util.DeviceChoice;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
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
public final class ImageClassifier extends Classifier {

    /** {@code _class_name} in the config. */
    public static final String CLASS_NAME = "ImageClassifier";

    /**
     * The architecture, the keys of {@code config.json} (with {@code num_classes}, written for readers): each declared
     * once with its default (the shipped 32 x 32 Fashion-MNIST classifier's; {@code class_names} has none).
     */
    public static final class Config extends JsonConfig<Config> {
        /** {@code in_channels}: image channels (3 for RGB). */
        public static final Field<Integer> IN_CHANNELS = field("in_channels", 3);
        /** {@code image_size}: the side the classifier is trained at. */
        public static final Field<Integer> IMAGE_SIZE = field("image_size", 32);
        /** {@code channels}: the channels of the convolutions (each after the first halves the size). */
        public static final Field<int[]> CHANNELS = field("channels", Type.INTS, new int[] {16, 32, 64, 128});
        /** {@code class_names}: one name per class (their number is the number of classes). */
        public static final Field<List<String>> CLASS_NAMES = field("class_names", Type.STRINGS, null);

        private static final Kind<Config> KIND = new Kind<>(CLASS_NAME + " config", CONFIG_FILE, CLASS_NAME,
                List.of(IN_CHANNELS, IMAGE_SIZE, CHANNELS, CLASS_NAMES), Config::new);

        /** The architecture from code. */
        public Config(int inChannels, int imageSize, int[] channels, List<String> classNames) {
            this(Map.of(IN_CHANNELS.key(), new JsonPrimitive(inChannels), IMAGE_SIZE.key(), new JsonPrimitive(imageSize),
                    CHANNELS.key(), CHANNELS.type().writer().apply(channels), CLASS_NAMES.key(),
                    CLASS_NAMES.type().writer().apply(classNames), "num_classes", new JsonPrimitive(classNames.size())),
                    "code");
        }

        Config(Map<String, JsonElement> values, String source) {
            super(KIND, values, source);
            if (inChannels() < 1 || imageSize() < 1 || channels().length < 1 || classNames() == null
                    || classNames().size() < 2) {
                throw new IllegalArgumentException(what() + " " + source + ": in_channels and image_size must be >= 1, "
                        + "channels must list at least one layer and class_names at least two classes; got " + this);
            }
        }

        /** {@code in_channels}. */
        public int inChannels() {
            return get(IN_CHANNELS);
        }

        /** {@code image_size}. */
        public int imageSize() {
            return get(IMAGE_SIZE);
        }

        /** {@code channels}. */
        public int[] channels() {
            return get(CHANNELS);
        }

        /** {@code class_names}. */
        public List<String> classNames() {
            return get(CLASS_NAMES);
        }

        /** The number of classes. */
        public int numClasses() {
            return classNames().size();
        }
    }

    private final Config config;
    private final List<Conv2dLayer> convs = new ArrayList<>();
    private final LinearLayer head;

    /**
     * A randomly initialised classifier (PyTorch's default initialisation).
     *
     * @param manager parameters live on a sub-manager of it; null: a new manager on {@link DeviceChoice#device()}
     */
    public ImageClassifier(Config config, NDManager manager) {
        super(manager, DeviceChoice.device());
        this.config = config;
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

    /** Its training images' preparation: resized to {@code image_size}, with {@code in_channels} channels. */
    @Override
    public diffusionkit.data.Preprocess inputPreprocess() {
        return diffusionkit.data.Preprocess.NONE.withImageSize(config.imageSize()).withChannels(config.inChannels());
    }

    /** The configuration. */
    @Override
    public Config config() {
        return config;
    }

    /** The class names by label. */
    @Override
    public List<String> classNames() {
        return config.classNames();
    }

    /**
     * Loads a folder written by {@link #save}.
     *
     * @throws CheckpointException naming the folder and the missing or unfitting file
     */
    public static ImageClassifier load(Path folder, NDManager manager) throws IOException {
        return Classifier.load(folder, manager, ImageClassifier.class);
    }

    @Override
    public String toString() {
        return "ImageClassifier(" + config + ", " + numParameters() + " parameters)";
    }
}
