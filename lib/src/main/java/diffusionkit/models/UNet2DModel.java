package diffusionkit.models;

import diffusionkit.hub.Pretrained;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.ModelFolder;
import diffusionkit.io.StateDicts;
import diffusionkit.util.DeviceChoice;
import diffusionkit.util.Scalars;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * diffusers' {@code UNet2DModel} (v0.31) as a DJL block: a conditional 2D UNet that takes a noisy sample and
 * a timestep (and optionally class labels) and returns the predicted noise, numerically equal to diffusers.
 *
 * <p>Structure (child names = diffusers module paths, so {@link #stateDictParameters()} has exactly the keys of
 * the diffusers {@code state_dict}): {@code conv_in}, {@code time_proj} (sinusoidal, no weights),
 * {@code time_embedding}, optional {@code class_embedding}, {@code down_blocks}, {@code up_blocks},
 * {@code mid_block}, {@code conv_norm_out}, {@code conv_out}.
 *
 * <pre>{@code
 * try (NDManager m = NDManager.newBaseManager();
 *      UNet2DModel unet = UNet2DModel.fromPretrained(Path.of("my-unet"), m)) {
 *     NDArray noise = unet.forward(noisy, m.create(999L), null);
 * }
 * }</pre>
 *
 * <p>Training: call {@link #forward(NDArray, NDArray, NDArray, boolean)} inside a {@code GradientCollector};
 * the parameters require gradients (their arrays are {@link #stateDictParameters()}' values), and so may the
 * input sample. PyTorch accumulates gradients: zero them after each update.
 *
 * <p>The model owns its parameters (on a sub-manager of the manager given, or on a new manager on
 * {@link DeviceChoice#device()}); {@link #close()} frees them.
 */
public final class UNet2DModel extends ModuleBlock implements NoisePredictor {

    /** The weights file of a diffusers model folder (safetensors). */
    public static final String WEIGHTS_NAME = "diffusion_pytorch_model.safetensors";
    /** The PyTorch pickle weights file older folders hold instead. */
    public static final String WEIGHTS_NAME_BIN = "diffusion_pytorch_model.bin";

    private static final Map<String, String> LEGACY_ATTENTION_NAMES = Map.of(
            "query", "to_q", "key", "to_k", "value", "to_v", "proj_attn", "to_out.0");

    private final UNet2DConfig config;
    private final NDManager manager;
    private final Conv2dLayer convIn;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final EmbeddingLayer classEmbedding;
    private final ModuleList<DownBlock2D> downBlocks;
    private final ModuleList<UpBlock2D> upBlocks;
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2dLayer convOut;

    /** A randomly initialised model (PyTorch's default initialisation) on {@link DeviceChoice#device()}. */
    public UNet2DModel(UNet2DConfig config) {
        this(config, null);
    }

    /**
     * A randomly initialised model (PyTorch's default initialisation).
     *
     * @param config the configuration (checked by {@link UNet2DConfig#validate()})
     * @param manager parameters are created on a sub-manager of it (its device); null: a new manager on
     *     {@link DeviceChoice#device()}
     * @throws IllegalArgumentException naming the config key when the config is not supported
     */
    public UNet2DModel(UNet2DConfig config, NDManager manager) {
        config.validate();
        this.config = config;
        this.manager = manager == null ? NDManager.newBaseManager(DeviceChoice.device()) : manager.newSubManager();
        NDManager m = this.manager;
        try {
            int[] boc = config.blockOutChannels();
            int timeEmbedDim = config.timeEmbedDim();
            DownBlock2D.Settings s = new DownBlock2D.Settings(timeEmbedDim, config.normNumGroups(), config.normEps(),
                    config.dropout(), config.attentionHeadDim());

            convIn = module("conv_in", new Conv2dLayer(m, config.inChannels(), boc[0], 3, 1, 1));
            timeProj = module("time_proj", new Timesteps(boc[0], config.flipSinToCos(), config.freqShift()));
            timeEmbedding = module("time_embedding", new TimestepEmbedding(m, boc[0], timeEmbedDim));
            Integer nce = config.numClassEmbeds();
            classEmbedding = nce != null ? module("class_embedding", new EmbeddingLayer(m, nce, timeEmbedDim)) : null;

            downBlocks = module("down_blocks", new ModuleList<>());
            List<String> downTypes = config.downBlockTypes();
            int out = boc[0];
            for (int i = 0; i < downTypes.size(); i++) {
                int in = out;
                out = boc[i];
                boolean isFinal = i == boc.length - 1;
                String type = UNet2DConfig.strip(downTypes.get(i));
                downBlocks.add(type.equals("AttnDownBlock2D")
                        ? new AttnDownBlock2D(m, config.layersPerBlock(), in, out, s, !isFinal, config.downsamplePadding())
                        : new DownBlock2D(m, config.layersPerBlock(), in, out, s, !isFinal, config.downsamplePadding()));
            }

            upBlocks = module("up_blocks", new ModuleList<>());
            List<String> upTypes = config.upBlockTypes();
            int[] rev = new int[boc.length];
            for (int i = 0; i < boc.length; i++) {
                rev[i] = boc[boc.length - 1 - i];
            }
            out = rev[0];
            for (int i = 0; i < upTypes.size(); i++) {
                int prev = out;
                out = rev[i];
                int in = rev[Math.min(i + 1, boc.length - 1)];
                boolean isFinal = i == boc.length - 1;
                String type = UNet2DConfig.strip(upTypes.get(i));
                upBlocks.add(type.equals("AttnUpBlock2D")
                        ? new AttnUpBlock2D(m, config.layersPerBlock() + 1, in, prev, out, s, !isFinal)
                        : new UpBlock2D(m, config.layersPerBlock() + 1, in, prev, out, s, !isFinal));
            }

            midBlock = module("mid_block", new UNetMidBlock2D(m, boc[boc.length - 1], s, config.attnNormNumGroups(),
                    config.addAttention(), config.midBlockScaleFactor()));
            convNormOut = module("conv_norm_out", new GroupNorm(m, config.normNumGroups(), boc[0], config.normEps()));
            convOut = module("conv_out", new Conv2dLayer(m, boc[0], config.outChannels(), 3, 1, 1));

            for (Parameter p : namedParameters().values()) {
                if (p.requiresGradient()) {
                    p.getArray().setRequiresGradient(true);
                }
            }
        } catch (RuntimeException e) {
            this.manager.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------- forward

    /**
     * The predicted noise (inference: dropout off).
     *
     * @param sample noisy input [N, in_channels, H, W]
     * @param timesteps a scalar, [1] (broadcast to the batch, as diffusers) or [N]; integer or float
     * @param classLabels [N] class indices when {@code num_class_embeds} is set, else null
     * @return [N, out_channels, H, W], on the sample's manager
     */
    public NDArray forward(NDArray sample, NDArray timesteps, NDArray classLabels) {
        return forward(sample, timesteps, classLabels, false);
    }

    /**
     * The predicted noise; see {@link #forward(NDArray, NDArray, NDArray)}. Differentiable: inside a
     * {@code GradientCollector} gradients reach the parameters and (when it requires them) the sample.
     *
     * @param training dropout on (only matters when {@code dropout > 0})
     */
    @Override
    public NDArray forward(NDArray sample, NDArray timesteps, NDArray classLabels, boolean training) {
        Shape ss = sample.getShape();
        if (ss.dimension() != 4 || ss.get(1) != config.inChannels()) {
            throw new IllegalArgumentException("UNet2DModel: sample must be [N, " + config.inChannels()
                    + ", H, W] (in_channels = " + config.inChannels() + "), got " + ss);
        }
        if (!sample.getDevice().equals(manager.getDevice())) {
            throw new IllegalArgumentException("UNet2DModel: the sample is on " + sample.getDevice()
                    + " but the parameters are on " + manager.getDevice() + ": pass sample.toDevice(unet.device(), false)");
        }
        long n = ss.get(0);
        NDManager caller = sample.getManager();
        try (NDManager sub = caller.newSubManager(sample.getDevice())) {
            sample.tempAttach(sub);
            // 1. time
            NDArray t = timesteps.getShape().isScalar() ? timesteps.reshape(1) : timesteps;
            if (t != timesteps) {
                t.attach(sub);
            }
            if (t.getShape().dimension() != 1 || (t.size() != 1 && t.size() != n)) {
                throw new IllegalArgumentException("UNet2DModel: timesteps must be a scalar, [1] or [" + n
                        + "] (one per sample), got " + timesteps.getShape());
            }
            if (t.size() == 1 && n != 1) {
                t = t.broadcast(new Shape(n));
                t.attach(sub);
            }
            if (!t.getDevice().equals(sample.getDevice())) {
                t = t.toDevice(sample.getDevice(), true);
                t.attach(sub);
            }
            NDArray tEmb = timeProj.forward(t);
            tEmb.attach(sub);
            NDArray emb = timeEmbedding.forward(tEmb);
            emb.attach(sub);
            if (classEmbedding != null) {
                if (classLabels == null) {
                    throw new IllegalArgumentException("UNet2DModel: class_labels should be provided when doing class "
                            + "conditioning (num_class_embeds = " + classEmbedding.size() + ")");
                }
                if (classLabels.getShape().dimension() != 1 || classLabels.size() != n) {
                    throw new IllegalArgumentException("UNet2DModel: class labels must be [" + n + "], got "
                            + classLabels.getShape());
                }
                long[] labels;
                try (NDArray asLong = classLabels.toType(DataType.INT64, true)) {
                    labels = asLong.toLongArray();
                }
                for (long l : labels) {
                    if (l < 0 || l >= classEmbedding.size()) {
                        throw new IllegalArgumentException("UNet2DModel: class label " + l + " is outside [0, "
                                + classEmbedding.size() + ") (num_class_embeds)");
                    }
                }
                NDArray lab = classLabels.toDevice(sample.getDevice(), true);
                lab.attach(sub);
                NDArray classEmb = classEmbedding.forward(lab);
                classEmb.attach(sub);
                emb = emb.add(classEmb);
            } else if (classLabels != null) {
                throw new IllegalArgumentException("UNet2DModel: class labels were given but the model has no class "
                        + "embedding (num_class_embeds is null): pass null, or set num_class_embeds in the config");
            }
            // every ResnetBlock2D applies the same activation to the embedding: compute it once
            NDArray embAct = Ops.silu(emb);

            // 0. center, 2. pre-process
            NDArray x = config.centerInputSample() ? Scalars.mul(sample, 2).sub(1) : sample;
            NDArray h = convIn.forward(x);
            List<NDArray> skips = new ArrayList<>();
            skips.add(h);

            // 3. down
            for (DownBlock2D down : downBlocks.items()) {
                h = down.forward(h, embAct, training, skips);
            }
            // 4. mid (its input is the last skip connection: kept)
            h = midBlock.forward(h, embAct, training);
            // 5. up
            for (UpBlock2D up : upBlocks.items()) {
                NDArray next = up.forward(h, skips, embAct, training);
                h.close();
                h = next;
            }
            // 6. post-process
            NDArray result;
            try (NDArray hh = h; NDArray normed = convNormOut.forward(hh); NDArray act = Ops.silu(normed)) {
                result = convOut.forward(act);
            }
            result.attach(caller);
            return result;
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray labels = inputs.size() > 2 ? inputs.get(2) : null;
        return new NDList(forward(inputs.get(0), inputs.get(1), labels, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), config.outChannels(), s.get(2), s.get(3))};
    }

    // ---------------------------------------------------------------- state dict

    /** The configuration. */
    public UNet2DConfig config() {
        return config;
    }

    /** The device of the parameters. */
    public Device device() {
        return manager.getDevice();
    }

    /** [in_channels, sample_size, sample_size] from the config, or null without {@code sample_size}. */
    @Override
    public Shape sampleShape() {
        int[] hw = config().sampleSize();
        return hw == null ? null : new Shape(config().inChannels(), hw[0], hw[1]);
    }

    /** {@code num_class_embeds} (diffusers' class-conditioned UNet), else 0. */
    @Override
    public int numClasses() {
        Integer n = config().numClassEmbeds();
        return n == null ? 0 : n;
    }

    /** The manager that owns the parameters. */
    public NDManager manager() {
        return manager;
    }

    /** Every parameter keyed by its diffusers name ({@code down_blocks.0.resnets.0.norm1.weight}), in diffusers' order. */
    public Map<String, Parameter> stateDictParameters() {
        return namedParameters();
    }

    /** The parameters' own arrays keyed by diffusers name (not copies: do not close them). */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
            out.put(e.getKey(), e.getValue().getArray());
        }
        return out;
    }

    /** Number of scalar parameters. */
    public long numParameters() {
        long total = 0;
        for (Parameter p : namedParameters().values()) {
            total += p.getArray().size();
        }
        return total;
    }

    /**
     * Copies {@code stateDict} into the parameters. Keys are diffusers names; the legacy attention names of
     * older checkpoints ({@code query}, {@code key}, {@code value}, {@code proj_attn}) are accepted for
     * {@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0}, as diffusers'
     * {@code _convert_deprecated_attention_blocks} does. Nothing is copied unless every key fits.
     *
     * @throws StateDictMismatchException listing every missing, unexpected and mis-shaped key
     */
    public void loadStateDict(Map<String, NDArray> stateDict) {
        Map<String, Parameter> expected = namedParameters();
        Set<String> attentionPaths = attentionPaths();
        Map<String, NDArray> byName = new LinkedHashMap<>();
        Map<String, String> sourceName = new LinkedHashMap<>();
        List<String> unexpected = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            String key = e.getKey();
            String name = expected.containsKey(key) ? key : legacyToCurrent(key, attentionPaths);
            if (name == null || !expected.containsKey(name) || byName.containsKey(name)) {
                unexpected.add(key);
            } else {
                byName.put(name, e.getValue());
                sourceName.put(name, key);
            }
        }
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            NDArray src = byName.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
                continue;
            }
            Shape want = e.getValue().getArray().getShape();
            if (!src.getShape().equals(want)) {
                String key = sourceName.get(e.getKey());
                mismatched.add(key + ": expected " + Arrays.toString(want.getShape()) + ", found "
                        + Arrays.toString(src.getShape().getShape()));
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            StringBuilder sb = new StringBuilder("the state dict does not fit this UNet2DModel (config ")
                    .append(Arrays.toString(config.blockOutChannels())).append(" block_out_channels, ")
                    .append(config.downBlockTypes()).append("):");
            if (!missing.isEmpty()) {
                sb.append("\n  missing keys (").append(missing.size()).append("): ").append(String.join(", ", missing));
            }
            if (!unexpected.isEmpty()) {
                sb.append("\n  unexpected keys (").append(unexpected.size()).append("): ").append(String.join(", ", unexpected));
            }
            if (!mismatched.isEmpty()) {
                sb.append("\n  mismatched shapes (").append(mismatched.size()).append("): ").append(String.join("; ", mismatched));
            }
            sb.append("\nUse the config.json saved with these weights, or weights saved for this config.");
            throw new StateDictMismatchException(sb.toString(), missing, unexpected, mismatched);
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            copyInto(e.getValue().getArray(), byName.get(e.getKey()));
        }
    }

    private static void copyInto(NDArray target, NDArray src) {
        diffusionkit.util.Tensors.copyInto(src, target);
    }

    private static String legacyToCurrent(String key, Set<String> attentionPaths) {
        int last = key.lastIndexOf('.');
        if (last < 0) {
            return null;
        }
        String head = key.substring(0, last);
        int mod = head.lastIndexOf('.');
        if (mod < 0) {
            return null;
        }
        String path = head.substring(0, mod);
        String current = LEGACY_ATTENTION_NAMES.get(head.substring(mod + 1));
        if (current == null || !attentionPaths.contains(path)) {
            return null;
        }
        return path + "." + current + key.substring(last);
    }

    private Set<String> attentionPaths() {
        Set<String> out = new java.util.HashSet<>();
        collectAttention("", this, out);
        return out;
    }

    private static void collectAttention(String prefix, ModuleBlock block, Set<String> out) {
        for (Map.Entry<String, Block> e : block.modules().entrySet()) {
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue() instanceof Attention) {
                out.add(path);
            }
            if (e.getValue() instanceof ModuleBlock mb) {
                collectAttention(path, mb, out);
            }
        }
    }

    // ---------------------------------------------------------------- folders

    /**
     * Loads a diffusers {@code UNet2DModel} folder: {@code config.json} and {@code diffusion_pytorch_model.safetensors}
     * (or {@code diffusion_pytorch_model.bin}, as older hub checkpoints such as google/ddpm-celebahq-256 have it;
     * the file is picked as diffusers does, see {@link StateDicts#resolve}).
     *
     * @param folder the model folder (e.g. a pipeline's {@code unet/})
     * @param manager parameters live on a sub-manager of it; null: a new manager on {@link DeviceChoice#device()}
     * @throws CheckpointException when a file is missing or unreadable, the config is unsupported or the
     *     weights do not fit the config (the message lists the keys)
     */
    public static UNet2DModel fromPretrained(Path folder, NDManager manager) throws IOException {
        return fromFolder(folder, manager);
    }

    /**
     * Loads a UNet by hub id (a bare UNet repository, or a pipeline repository's {@code unet/}), kit model name or
     * folder path; see {@link Pretrained}.
     */
    public static UNet2DModel fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromFolder(Pretrained.unet(idOrPath), manager);
    }

    private static UNet2DModel fromFolder(Path folder, NDManager manager) throws IOException {
        UNet2DConfig config = UNet2DConfig.load(folder);
        return ModelFolder.load(folder.resolve(UNet2DConfig.CONFIG_NAME), () -> new UNet2DModel(config, manager),
                scratch -> ModelFolder.readWeights(folder, null, scratch), UNet2DModel::loadStateDict);
    }

    /**
     * Writes {@code config.json} and {@code diffusion_pytorch_model.safetensors} into {@code folder} in the
     * diffusers layout, atomically: a complete new folder replaces the old one (other files already in the
     * folder are carried over).
     */
    @Override
    public void savePretrained(Path folder) throws IOException {
        ModelFolder.save(folder, config, WEIGHTS_NAME, stateDict());
    }

    /** Copies in the weights of a UNet folder ({@code config.json} + weights), as {@link StateDicts#load} reads it. */
    @Override
    public void loadPretrained(Path folder) throws IOException {
        try (NDManager sm = manager().newSubManager()) {
            loadStateDict(StateDicts.load(folder, sm));
        }
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        manager.close();
    }

    @Override
    public String toString() {
        return "UNet2DModel(" + Arrays.toString(config.blockOutChannels()) + ", " + config.downBlockTypes() + ", "
                + numParameters() + " parameters)";
    }
}
