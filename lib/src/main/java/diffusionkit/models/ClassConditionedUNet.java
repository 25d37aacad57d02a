package diffusionkit.models;

import diffusionkit.hub.Pretrained;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;
import diffusionkit.io.ModelFolder;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.SchedulerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The course's class-conditioned MNIST model (Unit 2, notebook 2, {@code ClassConditionedUnet}), with two options
 * the course only describes.
 *
 * <p><b>{@link Mode#CONCAT} (the course):</b> a learned table {@code class_emb} [num_classes, class_emb_size]
 * (PyTorch's {@code nn.Embedding}, initialised N(0, 1)) maps each label to a vector, which is broadcast to
 * H x W and concatenated to the image as {@code class_emb_size} extra channels:
 * <pre>
 * class_cond = class_emb(labels).view(bs, 4, 1, 1).expand(bs, 4, w, h)
 * net_input  = cat((x, class_cond), 1)          # (bs, 5, 28, 28)
 * return unet(net_input, t).sample              # (bs, 1, 28, 28)
 * </pre>
 * The UNet is a plain {@link UNet2DModel} with {@link #courseUNetConfig(int)}.
 *
 * <p><b>{@link Mode#CLASS_EMBEDDING}:</b> diffusers' own route: {@code num_class_embeds} in the UNet config, whose
 * class embedding (width = time embedding width) is added to the time embedding inside every ResNet block. The
 * image goes in alone ({@code in_channels} 1). This is "the second conditioning method" of the course's unit text.
 *
 * <p><b>Classifier-free guidance:</b> with {@link Builder#optNullClass(boolean)} the table gets one extra row,
 * the learned "null" class {@link #nullLabel()} (= {@code num_classes}). Training drops labels to it with some
 * probability ({@link diffusionkit.training.TrainingConfig#labelDropout()}); sampling mixes {@code eps_uncond + w (eps_cond - eps_uncond)}
 * (see {@link ConditionalSampler}).
 *
 * <p><b>State dict names</b> follow the course wrapper's {@code state_dict()}: {@code class_emb.weight} and
 * {@code model.<diffusers UNet names>} (in CLASS_EMBEDDING mode the table is the UNet's own
 * {@code model.class_embedding.weight}).
 *
 * <p><b>Folder layout</b> ({@link #savePretrained}, {@link #fromPretrained}):
 * <pre>
 * class_conditioned.json     {"_class_name": "ClassConditionedUNet", "mode": "concat", "num_classes": 10,
 *                             "class_emb_size": 4, "null_class": true}
 * class_emb.safetensors      {"weight": [rows, class_emb_size]}   (CONCAT mode only)
 * unet/                      a diffusers UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors)
 * scheduler/                 (written by the trainer / pipeline, not by this class) scheduler_config.json
 *                            ({@link diffusionkit.pipelines.DiffusionPipeline#savePretrained(Path, NoisePredictor,
 *                            diffusionkit.schedulers.Scheduler)}; training checkpoints add their files beside it)
 * </pre>
 */
public final class ClassConditionedUNet implements NoisePredictor {

    /** The marker file of a saved model folder. */
    public static final String CONFIG_NAME = "class_conditioned.json";
    /** The class table of CONCAT mode. */
    public static final String CLASS_EMB_NAME = "class_emb.safetensors";
    /** The UNet sub-folder. */
    public static final String UNET_FOLDER = "unet";
    /** {@code _class_name} in {@link #CONFIG_NAME}. */
    public static final String CLASS_NAME = "ClassConditionedUNet";

    /** How the label reaches the UNet. */
    public enum Mode {
        /** The course: an embedding broadcast and concatenated as extra input channels. */
        CONCAT("concat"),
        /** diffusers' {@code num_class_embeds}: added to the time embedding. */
        CLASS_EMBEDDING("class_embedding");

        private final String id;

        Mode(String id) {
            this.id = id;
        }

        /** The name used in {@link #CONFIG_NAME}. */
        public String id() {
            return id;
        }

        /** The mode named {@code id} ({@code concat} or {@code class_embedding}). */
        public static Mode of(String id) {
            for (Mode m : values()) {
                if (m.id.equals(id)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown conditioning mode '" + id + "': use concat or class_embedding");
        }
    }

    /**
     * The content of {@link #CONFIG_NAME}: the wrapper's own settings, each declared once with its default (the
     * course's model); the UNet has its own {@code config.json} in {@code unet/}.
     */
    public static final class Config extends JsonConfig<Config> {
        /** {@code mode}: {@code concat} or {@code class_embedding} ({@link Mode#id()}). */
        public static final Field<String> MODE = field("mode", Mode.CONCAT.id());
        /** {@code num_classes}: the number of real classes. */
        public static final Field<Integer> NUM_CLASSES = field("num_classes", 10);
        /** {@code class_emb_size}: the width of the CONCAT embedding. */
        public static final Field<Integer> CLASS_EMB_SIZE = field("class_emb_size", 4);
        /** {@code null_class}: one more table row, the learned null class of classifier-free guidance. */
        public static final Field<Boolean> NULL_CLASS = field("null_class", false);

        private static final Kind<Config> KIND = new Kind<>(CLASS_NAME + " config", CONFIG_NAME, CLASS_NAME,
                List.of(MODE, NUM_CLASSES, CLASS_EMB_SIZE, NULL_CLASS), Config::new);

        private Config(Map<String, JsonElement> values, String source) {
            super(KIND, values, source);
            try {
                mode();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where(MODE) + " " + e.getMessage(), e);
            }
            for (Field<Integer> f : List.of(NUM_CLASSES, CLASS_EMB_SIZE)) {
                if (get(f) < 1) {
                    throw new IllegalArgumentException(where(f) + " must be >= 1, got " + get(f));
                }
            }
        }

        /** The course's model: CONCAT, 10 classes, embedding size 4, no null class. */
        public static Config defaults() {
            return new Config(Map.of(), "code");
        }

        /** A config from a parsed {@link #CONFIG_NAME} (copied) that came from {@code source}. */
        public static Config fromJson(JsonObject o, String source) {
            return new Config(o.asMap(), source);
        }

        /** {@code mode} as a {@link Mode}. */
        public Mode mode() {
            return Mode.of(get(MODE));
        }

        /** {@code num_classes}. */
        public int numClasses() {
            return get(NUM_CLASSES);
        }

        /** {@code class_emb_size}. */
        public int classEmbSize() {
            return get(CLASS_EMB_SIZE);
        }

        /** {@code null_class}. */
        public boolean nullClass() {
            return get(NULL_CLASS);
        }
    }

    private final Config config;
    private final NDManager manager;
    private final EmbeddingLayer classEmb;
    private final UNet2DModel unet;

    private ClassConditionedUNet(Config config, UNet2DConfig unetConfig, NDManager parent) {
        this.config = config;
        this.manager = parent == null ? NDManager.newBaseManager(diffusionkit.util.DeviceChoice.device())
                : parent.newSubManager();
        try {
            if (mode() == Mode.CONCAT) {
                classEmb = new EmbeddingLayer(manager, rows(), classEmbSize());
                classEmb.weight().getArray().setRequiresGradient(true);
            } else {
                classEmb = null;
            }
            unet = new UNet2DModel(unetConfig, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The UNet config of the course's notebook: sample_size 28, in_channels {@code 1 + classEmbSize},
     * out_channels 1, layers_per_block 2, block_out_channels (32, 64, 64), down (DownBlock2D, AttnDownBlock2D,
     * AttnDownBlock2D), up (AttnUpBlock2D, AttnUpBlock2D, UpBlock2D); every other key at diffusers' default.
     */
    public static UNet2DConfig courseUNetConfig(int classEmbSize) {
        return UNet2DConfig.defaults()
                .with("sample_size", 28)
                .with("in_channels", 1 + classEmbSize)
                .with("out_channels", 1)
                .with("layers_per_block", 2)
                .with("block_out_channels", new int[] {32, 64, 64})
                .with("down_block_types", List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"))
                .with("up_block_types", List.of("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
    }

    /** The course's scheduler: {@code DDPMScheduler(num_train_timesteps=1000, beta_schedule='squaredcos_cap_v2')}. */
    public static DDPMScheduler courseScheduler() {
        return new DDPMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.BETA_SCHEDULE, "squaredcos_cap_v2"));
    }

    /** The course's model: CONCAT, 10 classes, embedding size 4, no null class; randomly initialised. */
    public static ClassConditionedUNet course(NDManager manager) {
        return builder().build(manager);
    }

    /** A builder (defaults: the course's model). */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- forward

    /**
     * The predicted noise.
     *
     * @param sample noisy images [N, 1, H, W]
     * @param timesteps a scalar, [1] or [N]
     * @param classLabels [N] integer labels in {@code [0, num_classes)}, or {@link #nullLabel()} when the model has
     *     a null class; required
     * @param training dropout on (the course's UNet has dropout 0)
     * @return [N, 1, H, W] on the sample's manager
     * @throws IllegalArgumentException when a label is missing, of a float type, of the wrong count or out of range
     */
    @Override
    public NDArray forward(NDArray sample, NDArray timesteps, NDArray classLabels, boolean training) {
        Shape ss = sample.getShape();
        if (ss.dimension() != 4 || ss.get(1) != 1) {
            throw new IllegalArgumentException("ClassConditionedUNet: sample must be [N, 1, H, W], got " + ss);
        }
        checkLabels(classLabels, ss.get(0));
        if (mode() == Mode.CLASS_EMBEDDING) {
            return unet.forward(sample, timesteps, classLabels, training);
        }
        long n = ss.get(0);
        NDManager caller = sample.getManager();
        try (NDManager sub = caller.newSubManager(sample.getDevice())) {
            NDArray lab = classLabels.toDevice(sample.getDevice(), true);
            lab.attach(sub);
            NDArray cond = classEmb.forward(lab); // class_emb(labels): [N, E]
            cond.attach(sub);
            int e = classEmbSize();
            NDArray map = cond.reshape(n, e, 1, 1).broadcast(new Shape(n, e, ss.get(2), ss.get(3)));
            map.attach(sub);
            NDArray input = NDArrays.concat(new ai.djl.ndarray.NDList(sample, map), 1); // (bs, 1 + E, H, W)
            input.attach(sub);
            NDArray out = unet.forward(input, timesteps, null, training);
            out.attach(caller);
            return out;
        }
    }

    private void checkLabels(NDArray labels, long n) {
        if (labels == null) {
            throw new IllegalArgumentException("ClassConditionedUNet: class labels are required (one integer in [0, "
                    + numClasses() + ") per sample)" + (hasNullClass() ? ", or " + nullLabel() + " for the null class"
                    : ""));
        }
        DataType dt = labels.getDataType();
        if (!dt.isInteger()) {
            throw new IllegalArgumentException("ClassConditionedUNet: class labels must be an integer array (int64 as "
                    + "the course's torch.long), got " + dt + ": create them with manager.create(long[])");
        }
        if (labels.getShape().dimension() != 1 || labels.size() != n) {
            throw new IllegalArgumentException("ClassConditionedUNet: class labels must be [" + n
                    + "] (one per sample in the batch), got " + labels.getShape());
        }
        long max = hasNullClass() ? numClasses() : numClasses() - 1;
        for (long l : labels.toType(DataType.INT64, false).toLongArray()) {
            if (l < 0 || l > max) {
                throw new IllegalArgumentException("ClassConditionedUNet: class label " + l + " is outside [0, "
                        + numClasses() + ")" + (hasNullClass() ? " (or " + numClasses() + ", the null class)"
                        : " (this model has no null class)") + "; pass digits 0.." + (numClasses() - 1));
            }
        }
    }

    // ---------------------------------------------------------------- accessors

    /** The conditioning route. */
    public Mode mode() {
        return config.mode();
    }

    /** Number of real classes (10 for MNIST). */
    @Override
    public int numClasses() {
        return config.numClasses();
    }

    /** Width of the CONCAT embedding (4 in the course). */
    public int classEmbSize() {
        return config.classEmbSize();
    }

    /** Whether the table has the learned null class for classifier-free guidance. */
    @Override
    public boolean hasNullClass() {
        return config.nullClass();
    }

    /** The null-class label ({@code num_classes}). */
    @Override
    public long nullLabel() {
        if (!hasNullClass()) {
            throw new IllegalStateException("this model has no null class: build it with optNullClass(true) to use "
                    + "classifier-free guidance");
        }
        return numClasses();
    }

    private int rows() {
        return numClasses() + (hasNullClass() ? 1 : 0);
    }

    /** [out_channels, sample_size, sample_size] of the UNet: the image without its label channels. */
    @Override
    public Shape sampleShape() {
        int[] hw = unet.config().sampleSize();
        return hw == null ? null : new Shape(unet.config().outChannels(), hw[0], hw[1]);
    }

    /** The wrapped UNet. */
    public UNet2DModel unet() {
        return unet;
    }

    /** The class table [rows, class_emb_size] (CONCAT mode; the live parameter), else null. */
    public NDArray classEmbWeight() {
        return classEmb == null ? null : classEmb.weight().getArray();
    }

    /** Device of the parameters. */
    public Device device() {
        return unet.device();
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    /** Live parameter arrays: {@code class_emb.weight} (CONCAT) and {@code model.<UNet names>}. */
    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (classEmb != null) {
            out.put("class_emb.weight", classEmb.weight().getArray());
        }
        unet.stateDict().forEach((k, v) -> out.put("model." + k, v));
        return out;
    }

    /**
     * Copies a state dict with the course wrapper's names into the parameters; nothing is copied unless every key fits.
     *
     * @throws IllegalArgumentException naming missing / unexpected / mis-shaped keys
     */
    @Override
    public void loadStateDict(Map<String, NDArray> stateDict) {
        Map<String, NDArray> unetPart = new LinkedHashMap<>();
        NDArray emb = null;
        List<String> unexpected = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            if (e.getKey().startsWith("model.")) {
                unetPart.put(e.getKey().substring("model.".length()), e.getValue());
            } else if (e.getKey().equals("class_emb.weight") && classEmb != null) {
                emb = e.getValue();
            } else {
                unexpected.add(e.getKey());
            }
        }
        List<String> missing = new ArrayList<>();
        List<String> badShape = new ArrayList<>();
        if (classEmb != null) {
            Shape want = classEmb.weight().getArray().getShape();
            if (emb == null) {
                missing.add("class_emb.weight");
            } else if (!emb.getShape().equals(want)) {
                badShape.add("class_emb.weight: expected " + want + ", got " + emb.getShape());
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !badShape.isEmpty()) {
            throw new IllegalArgumentException("ClassConditionedUNet state dict does not fit: missing " + missing
                    + ", unexpected " + unexpected + ", wrong shape " + badShape
                    + " (names: class_emb.weight and model.<UNet2DModel names>)");
        }
        unet.loadStateDict(unetPart);
        if (emb != null) {
            NDArray w = classEmb.weight().getArray();
            diffusionkit.util.Tensors.copyInto(emb, w);
        }
    }

    // ---------------------------------------------------------------- save / load

    /** The settings written to {@link #CONFIG_NAME}. */
    public Config config() {
        return config;
    }

    /**
     * Writes the model in the layout of the class javadoc, atomically (other files already in the folder, such
     * as {@code scheduler/}, are kept).
     */
    @Override
    public void savePretrained(Path folder) throws IOException {
        ModelFolder.save(folder, config, CLASS_EMB_NAME, classEmb == null ? null : Map.of("weight", classEmbWeight()),
                Map.of(UNET_FOLDER, unet::savePretrained));
    }

    /** Copies in the weights of a folder {@link #savePretrained} wrote (read on the CPU, then copied over). */
    @Override
    public void loadPretrained(Path folder) throws IOException {
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet saved = fromPretrained(folder, cpu)) {
            try {
                loadStateDict(saved.stateDict());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(folder + " holds another ClassConditionedUNet (" + saved + ") than this one ("
                        + this + "): " + e.getMessage(), e);
            }
        }
    }

    /**
     * Loads the model of a hub id, kit model name ({@code mnist-conditional}) or folder path; see {@link Pretrained}.
     *
     * @param manager parameters live on a sub-manager of it; null: a new manager on the default device
     * @throws CheckpointException as {@link #fromPretrained(Path, NDManager)}
     */
    public static ClassConditionedUNet fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), manager);
    }

    /**
     * Loads a folder written by {@link #savePretrained}.
     *
     * @param manager parameters live on a sub-manager of it; null: a new manager on the default device
     * @throws CheckpointException when the folder is not a ClassConditionedUNet folder (e.g. a plain UNet or a
     *     CLIP folder: the message says what it looks like and what to do), or its files do not fit
     */
    public static ClassConditionedUNet fromPretrained(Path folder, NDManager manager) throws IOException {
        Path cfgFile = folder.resolve(CONFIG_NAME);
        if (!Files.isRegularFile(cfgFile)) {
            throw new CheckpointException(folder + " is not a ClassConditionedUNet folder: it has no " + CONFIG_NAME
                    + describe(folder) + ". Point to a folder written by ClassConditionedUNet.savePretrained "
                    + "(class_conditioned.json + unet/ + class_emb.safetensors), e.g. datasets/models/mnist-conditional.");
        }
        Config config = JsonConfig.read(cfgFile, CONFIG_NAME, CLASS_NAME + " config", "save the model again",
                (o, source) -> {
                    JsonElement cls = o.get(JsonConfig.CLASS_NAME_KEY);
                    if (!CLASS_NAME.equals(JsonConfig.className(cls))) {
                        throw new IllegalArgumentException(source + ": _class_name must be \"" + CLASS_NAME + "\", got "
                                + cls + "; this folder holds another kind of model.");
                    }
                    return Config.fromJson(o, source);
                });
        Path unetFolder = folder.resolve(UNET_FOLDER);
        UNet2DConfig unetConfig = UNet2DConfig.load(unetFolder);
        return ModelFolder.load(cfgFile, () -> {
            try {
                return builder().optConfig(config).optUNetConfig(unetConfig).build(manager);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("it does not fit " + unetConfig.source() + ": " + e.getMessage(), e);
            }
        },
                scratch -> {
                    ModelFolder.Weights u = ModelFolder.readWeights(unetFolder, null, scratch);
                    Map<String, NDArray> sd = ModelFolder.prefixed("model.", u.tensors());
                    if (config.mode() != Mode.CONCAT) {
                        return new ModelFolder.Weights(u.source(), sd);
                    }
                    ModelFolder.Weights e = ModelFolder.readWeights(folder, CLASS_EMB_NAME, scratch);
                    sd.putAll(ModelFolder.prefixed("class_emb.", e.tensors()));
                    return new ModelFolder.Weights(e.source() + " and " + u.source(), sd);
                }, ClassConditionedUNet::loadStateDict);
    }

    private static String describe(Path folder) {
        if (!Files.isDirectory(folder)) {
            return " (the folder does not exist)";
        }
        if (!Files.isRegularFile(folder.resolve("config.json"))) {
            return Files.isRegularFile(folder.resolve("model_index.json"))
                    ? " (it is a diffusers pipeline folder: load it with DiffusionPipeline.fromPretrained)" : "";
        }
        try {
            JsonObject o = JsonConfig.read(folder, "config.json", "config", "", (json, source) -> json);
            String cls = JsonConfig.className(o.get(JsonConfig.CLASS_NAME_KEY));
            if (cls != null) {
                return " (it holds config.json of a " + cls + ": a " + (cls.equals(UNet2DConfig.CLASS_NAME)
                        ? "plain UNet without the class table; load it with UNet2DModel.fromPretrained"
                        : "model of another kind") + ")";
            }
            return o.has("text_config") || o.has("vision_config") || o.has("projection_dim")
                    ? " (it holds a CLIP config.json: load it with ClipModel.fromPretrained)"
                    : " (it holds a config.json of an unknown kind)";
        } catch (IOException e) {
            return " (its config.json is unreadable)";
        }
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        manager.close();
    }

    @Override
    public String toString() {
        return "ClassConditionedUNet(" + mode().id() + ", " + numClasses() + " classes"
                + (hasNullClass() ? " + null" : "") + ", " + numParameters() + " parameters)";
    }

    /** Builder of {@link ClassConditionedUNet}; defaults are the course's model. */
    public static final class Builder {
        private Config config = Config.defaults();
        private UNet2DConfig unetConfig;

        private Builder() {
        }

        /** All the wrapper's settings at once (e.g. those of a saved model). */
        public Builder optConfig(Config c) {
            this.config = c;
            return this;
        }

        /** Conditioning route (default CONCAT, the course). */
        public Builder optMode(Mode m) {
            config = config.with(Config.MODE, m.id());
            return this;
        }

        /** Number of classes (default 10). */
        public Builder optNumClasses(int n) {
            config = config.with(Config.NUM_CLASSES, n);
            return this;
        }

        /** Width of the CONCAT embedding (default 4). */
        public Builder optClassEmbSize(int e) {
            config = config.with(Config.CLASS_EMB_SIZE, e);
            return this;
        }

        /** Adds the learned null class (index num_classes) for classifier-free guidance (default false). */
        public Builder optNullClass(boolean b) {
            config = config.with(Config.NULL_CLASS, b);
            return this;
        }

        /**
         * The UNet config (default: {@link #courseUNetConfig(int)}; in CLASS_EMBEDDING mode with in_channels 1 and
         * num_class_embeds = rows).
         */
        public Builder optUNetConfig(UNet2DConfig c) {
            this.unetConfig = c;
            return this;
        }

        /** Builds a randomly initialised model on a sub-manager of {@code manager} (null: default device). */
        public ClassConditionedUNet build(NDManager manager) {
            Mode mode = config.mode();
            int classEmbSize = config.classEmbSize();
            boolean nullClass = config.nullClass();
            int rows = config.numClasses() + (nullClass ? 1 : 0);
            UNet2DConfig c = unetConfig;
            if (c == null) {
                c = courseUNetConfig(classEmbSize);
                if (mode == Mode.CLASS_EMBEDDING) {
                    c = c.with("in_channels", 1).with("num_class_embeds", rows);
                }
            }
            if (c.outChannels() != 1) {
                throw new IllegalArgumentException("UNet out_channels must be 1 (grey images), got " + c.outChannels());
            }
            if (mode == Mode.CONCAT) {
                if (c.inChannels() != 1 + classEmbSize) {
                    throw new IllegalArgumentException("concat mode needs UNet in_channels = 1 + class_emb_size = "
                            + (1 + classEmbSize) + ", got " + c.inChannels());
                }
                if (c.numClassEmbeds() != null) {
                    throw new IllegalArgumentException("concat mode needs UNet num_class_embeds = null, got "
                            + c.numClassEmbeds());
                }
            } else {
                if (c.inChannels() != 1) {
                    throw new IllegalArgumentException("class_embedding mode needs UNet in_channels = 1, got "
                            + c.inChannels());
                }
                if (c.numClassEmbeds() == null || c.numClassEmbeds() != rows) {
                    throw new IllegalArgumentException("class_embedding mode needs UNet num_class_embeds = " + rows
                            + " (num_classes" + (nullClass ? " + null class" : "") + "), got " + c.numClassEmbeds());
                }
            }
            return new ClassConditionedUNet(config, c, manager);
        }
    }
}
