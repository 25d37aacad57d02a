package diffusionkit.clip;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.ModelFolder;
import diffusionkit.util.Scalars;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision") as
 * transformers' {@code CLIPModel} computes it, on the weights of a Hugging Face folder such as
 * openai/clip-vit-base-patch32.
 *
 * <p>Plain NDArray modules: the parameters are the state-dict tensors under transformers' key names
 * ({@link #getParameters()}), so they can take gradients ({@link #setRequiresGradient}) and the forward pass is
 * ordinary NDArray arithmetic that a {@code GradientCollector} differentiates (the guidance loss needs
 * d loss / d pixels).
 *
 * <ul>
 *   <li>vision: patch "convolution" (stride = kernel = patch, no bias; computed as patches times the flattened
 *       kernel), class embedding, position embedding, {@code pre_layrnorm}, encoder layers, {@code post_layernorm} of the
 *       class token = pooled output, {@code visual_projection} (no bias) = image features;</li>
 *   <li>text: token + position embedding, encoder layers with a causal mask (and the padding mask when given,
 *       both additive {@code float32} min), {@code final_layer_norm}; pooled = the hidden state at the first
 *       position of the largest id (legacy rule of {@code eos_token_id == 2}, i.e. the first {@code <|endoftext|>}),
 *       else at the first {@code eos_token_id}; {@code text_projection} (no bias) = text features;</li>
 *   <li>encoder layer: {@code h += out_proj(attn(layer_norm1(h)))} with q scaled by head_dim^-0.5,
 *       {@code h += fc2(act(fc1(layer_norm2(h))))}, act = quick_gelu {@code x*sigmoid(1.702x)} or gelu (erf).</li>
 * </ul>
 *
 * <p>The results of a forward pass are attached to the manager of its input; the parameters live in the model's
 * own sub-manager, freed by {@link #close()}.
 */
public final class ClipModel implements AutoCloseable {

    /** The model weights file read by {@link #fromPretrained}. */
    public static final String SAFETENSORS_FILE = "model.safetensors";
    /** transformers' PyTorch weights file, read when there is no {@link #SAFETENSORS_FILE} ({@link diffusionkit.io.PytorchBin}). */
    public static final String PYTORCH_FILE = "pytorch_model.bin";
    /** Where the files come from, for error messages. */
    public static final String HUB_MODEL = "openai/clip-vit-base-patch32";

    private static final float FLOAT_MIN = -Float.MAX_VALUE; // torch.finfo(torch.float32).min

    /** Output of the vision transformer: {@code lastHiddenState} [B, 50, H] (before post_layernorm), {@code pooledOutput} [B, H]. */
    public record VisionOutput(NDArray lastHiddenState, NDArray pooledOutput) {}

    /** Output of the text transformer: {@code lastHiddenState} [B, L, H] (after final_layer_norm), {@code pooledOutput} [B, H]. */
    public record TextOutput(NDArray lastHiddenState, NDArray pooledOutput) {}

    /**
     * {@code CLIPOutput}: logits [images, texts] and [texts, images] ({@code exp(logit_scale)} times cosine similarity),
     * and the L2-normalised embeddings.
     */
    public record ClipOutput(NDArray logitsPerImage, NDArray logitsPerText, NDArray textEmbeds, NDArray imageEmbeds) {}

    private final ClipConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> params;

    private ClipModel(ClipConfig config, NDManager manager, Map<String, NDArray> params) {
        this.config = config;
        this.manager = manager;
        this.params = Collections.unmodifiableMap(params);
    }

    // ------------------------------------------------------------------------------------------ loading

    /**
     * Loads {@code config.json} and the weights of a Hugging Face CLIP folder onto {@code manager}'s device.
     *
     * @throws CheckpointException one message naming every missing file, or every missing / mis-shaped tensor,
     *     and what to put where
     */
    public static ClipModel fromPretrained(Path folder, NDManager manager) throws IOException {
        return fromFolder(folder, manager);
    }

    /**
     * Loads a CLIP by hub id ({@value #HUB_MODEL}: its config, safetensors weights and tokenizer files are fetched into
     * the Hugging Face cache, or read from it offline), kit model name ({@code emoji-clip}) or folder path; see
     * {@link Pretrained}.
     */
    public static ClipModel fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromFolder(Pretrained.clip(idOrPath), manager);
    }

    private static ClipModel fromFolder(Path folder, NDManager manager) throws IOException {
        checkFolder(folder, false);
        ClipConfig config = ClipConfig.load(folder);
        NDManager own = manager.newSubManager();
        try {
            ModelFolder.Weights w = readStateDict(folder, own);
            return fromStateDict(config, w.tensors(), own, w.source());
        } catch (IOException | RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /**
     * Writes {@code config.json} (every key it was loaded with) and {@code model.safetensors} into {@code folder}
     * atomically, as transformers' {@code save_pretrained} lays them out.
     */
    public void savePretrained(Path folder) throws IOException {
        ModelFolder.save(folder, config, SAFETENSORS_FILE, params);
    }

    /**
     * THE place where the weights file is read: {@code model.safetensors}, else {@code pytorch_model.bin} (read in pure
     * Java by an allow-listing unpickler, {@link diffusionkit.io.PytorchBin}). A file that cannot be read (truncated,
     * not that format) gives an error naming it, what is wrong with it and where to get it again.
     */
    static ModelFolder.Weights readStateDict(Path folder, NDManager manager) throws IOException {
        String name = weightsFileName(folder);
        try {
            return ModelFolder.readWeights(folder, name, manager);
        } catch (CheckpointException e) {
            throw new CheckpointException("cannot read the CLIP weights: " + e.getMessage() + " For CLIP: download " + name
                    + " of " + HUB_MODEL + " again into " + folder + ".", e);
        }
    }

    private static String weightsFileName(Path folder) {
        return Files.isRegularFile(folder.resolve(SAFETENSORS_FILE)) ? SAFETENSORS_FILE : PYTORCH_FILE;
    }

    /**
     * Checks that a CLIP folder holds {@code config.json}, the weights ({@code model.safetensors} or
     * {@code pytorch_model.bin}) and, when {@code withTokenizer}, the tokenizer ({@code vocab.json} +
     * {@code merges.txt}, or {@code tokenizer.json}); one message lists everything missing.
     */
    public static void checkFolder(Path folder, boolean withTokenizer) throws CheckpointException {
        String all = "config.json, " + SAFETENSORS_FILE + " (or " + PYTORCH_FILE + ")"
                + (withTokenizer ? ", vocab.json and merges.txt (or tokenizer.json)" : "");
        if (!Files.isDirectory(folder)) {
            throw new CheckpointException("CLIP folder " + folder + " does not exist: download " + HUB_MODEL + " ("
                    + all + ") into " + folder + ".");
        }
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(folder.resolve("config.json"))) {
            missing.add("config.json");
        }
        if (!Files.isRegularFile(folder.resolve(SAFETENSORS_FILE)) && !Files.isRegularFile(folder.resolve(PYTORCH_FILE))) {
            missing.add(SAFETENSORS_FILE + " (or " + PYTORCH_FILE + ")");
        }
        if (withTokenizer && !Files.isRegularFile(folder.resolve("tokenizer.json"))) {
            boolean vocab = Files.isRegularFile(folder.resolve("vocab.json"));
            boolean merges = Files.isRegularFile(folder.resolve("merges.txt"));
            if (!vocab || !merges) {
                missing.add(!vocab && !merges ? "vocab.json and merges.txt (or tokenizer.json)"
                        : (vocab ? "merges.txt" : "vocab.json"));
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("CLIP folder " + folder + " lacks " + String.join(", ", missing)
                    + ": download " + HUB_MODEL + " into " + folder + " (it needs " + all + ").");
        }
    }

    /**
     * Builds the model from a state dict under transformers' key names. Extra keys (e.g. the int64
     * {@code text_model.embeddings.position_ids} [1, 77] and {@code vision_model.embeddings.position_ids} [1, 50]
     * buffers that older transformers saved with openai/clip-vit-base-patch32) are dropped and closed. Floating-point
     * tensors of another precision (float16, bfloat16, float64) are converted to float32, in which the model computes
     * (the originals are closed); the kept arrays are attached to {@code manager}, which the model then owns.
     *
     * @param source the file the tensors came from, for error messages
     * @throws CheckpointException naming every missing and every mis-shaped tensor with the shape expected from config.json
     */
    public static ClipModel fromStateDict(ClipConfig config, Map<String, NDArray> stateDict, NDManager manager, String source)
            throws CheckpointException {
        Map<String, Shape> expected = expectedShapes(config);
        List<String> missing = new ArrayList<>();
        List<String> misshaped = new ArrayList<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            NDArray a = stateDict.get(e.getKey());
            if (a == null) {
                missing.add(e.getKey());
            } else if (!a.getShape().equals(e.getValue()) || !isFloat(a.getDataType())) {
                misshaped.add(e.getKey() + " is " + a.getDataType() + " " + a.getShape() + ", expected float32 " + e.getValue()
                        + " (or float16 / bfloat16)");
            }
        }
        if (!missing.isEmpty() || !misshaped.isEmpty()) {
            StringBuilder sb = new StringBuilder(source).append(" does not match the CLIP model of config.json (text ")
                    .append(config.textConfig()).append(", vision ").append(config.visionConfig())
                    .append(", projection_dim ").append(config.projectionDim()).append("):");
            if (!missing.isEmpty()) {
                sb.append(" missing ").append(missing.size()).append(" tensor(s): ").append(abbreviate(missing)).append(';');
            }
            if (!misshaped.isEmpty()) {
                sb.append(" mis-shaped tensor(s): ").append(abbreviate(misshaped)).append(';');
            }
            sb.append(" put the config.json and the weights of the same checkpoint (e.g. ").append(HUB_MODEL)
                    .append(") side by side in one folder.");
            throw new CheckpointException(sb.toString());
        }
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (String key : expected.keySet()) {
            NDArray a = stateDict.get(key);
            if (a.getDataType() != DataType.FLOAT32) {                   // fp16 / bf16 / fp64 weights: computed in float32
                NDArray f = a.toType(DataType.FLOAT32, false);
                a.close();
                a = f;
            }
            a.attach(manager);
            params.put(key, a);
        }
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                e.getValue().close();
            }
        }
        return new ClipModel(config, manager, params);
    }

    /**
     * A CLIP model of {@code config} with fresh weights, initialised as transformers' {@code CLIPPreTrainedModel}
     * ({@code initializer_factor} 1): embeddings N(0, 0.02²) (the class embedding N(0, 1/hidden)); attention and MLP
     * weights N(0, σ²) with σ = hidden^-1/2 (2·layers)^-1/2 for q, k, v and fc2, hidden^-1/2 for out_proj,
     * (2·hidden)^-1/2 for fc1; projections N(0, 1/hidden); biases 0, LayerNorm weights 1; {@code logit_scale} the
     * config's {@code logit_scale_init_value} (ln(1/0.07)). The draws come from {@code new SeededNoise(seed)}.
     */
    public static ClipModel random(ClipConfig config, long seed, NDManager manager) {
        diffusionkit.util.SeededNoise g = new diffusionkit.util.SeededNoise(seed);
        Map<String, NDArray> params = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expectedShapes(config).entrySet()) {
            String k = e.getKey();
            Shape shape = e.getValue();
            boolean text = k.startsWith("text_");
            int hidden = text ? config.textConfig().hiddenSize() : config.visionConfig().hiddenSize();
            int layers = text ? config.textConfig().numHiddenLayers() : config.visionConfig().numHiddenLayers();
            double inProj = Math.pow(hidden, -0.5) * Math.pow(2.0 * layers, -0.5);
            NDArray a;
            if (k.equals("logit_scale")) {
                a = manager.full(shape, (float) (double) config.get(ClipConfig.LOGIT_SCALE_INIT_VALUE));
            } else if (k.contains("layer_norm") || k.contains("layrnorm") || k.contains("layernorm")) {
                a = k.endsWith(".weight") ? manager.ones(shape) : manager.zeros(shape);
            } else if (k.endsWith(".bias")) {
                a = manager.zeros(shape);
            } else {
                double std = k.endsWith("class_embedding") ? Math.pow(hidden, -0.5)
                        : k.contains("embedding") ? 0.02
                        : k.contains("out_proj") ? Math.pow(hidden, -0.5)
                        : k.contains("_proj.") ? inProj                                   // q, k, v
                        : k.contains("fc1") ? Math.pow(2.0 * hidden, -0.5)
                        : k.contains("fc2") ? inProj
                        : Math.pow(k.startsWith("visual") ? config.visionConfig().hiddenSize()
                                : config.textConfig().hiddenSize(), -0.5);          // the two projections
                try (NDArray n = g.randn(manager, shape)) {
                    a = n.mul(std);
                }
            }
            params.put(k, a);
        }
        return new ClipModel(config, manager, params);
    }

    /**
     * CLIP's contrastive loss, as transformers' {@code clip_loss}: the mean of the cross-entropies of the text->image
     * and image->text logits against the matching pairs (image i with text i). {@code logitsPerText} is [N, N].
     */
    public static NDArray contrastiveLoss(NDArray logitsPerText) {
        long n = logitsPerText.getShape().get(0);
        if (logitsPerText.getShape().dimension() != 2 || logitsPerText.getShape().get(1) != n) {
            throw new IllegalArgumentException("the contrastive loss needs one text per image: logits [N, N], got "
                    + logitsPerText.getShape());
        }
        NDArray eye = logitsPerText.getManager().eye((int) n); // PyTorch's memory: autograd may keep it
        NDArray textToImage = logitsPerText.logSoftmax(1).mul(eye).sum().neg();
        NDArray imageToText = logitsPerText.logSoftmax(0).mul(eye).sum().neg();
        return Scalars.div(textToImage.add(imageToText), 2.0 * n);
    }

    private static boolean isFloat(DataType t) {
        return t == DataType.FLOAT32 || t == DataType.FLOAT16 || t == DataType.BFLOAT16 || t == DataType.FLOAT64;
    }

    private static String abbreviate(List<String> items) {
        return items.size() <= 12 ? String.join(", ", items)
                : String.join(", ", items.subList(0, 12)) + ", ... (" + (items.size() - 12) + " more)";
    }

    /** Every parameter of a CLIP model of {@code config}: transformers' state-dict key and its shape. */
    public static Map<String, Shape> expectedShapes(ClipConfig config) {
        Map<String, Shape> s = new LinkedHashMap<>();
        ClipConfig.TextConfig t = config.textConfig();
        ClipConfig.VisionConfig v = config.visionConfig();
        s.put("logit_scale", new Shape());
        s.put("text_model.embeddings.token_embedding.weight", new Shape(t.vocabSize(), t.hiddenSize()));
        s.put("text_model.embeddings.position_embedding.weight", new Shape(t.maxPositionEmbeddings(), t.hiddenSize()));
        encoderShapes(s, "text_model.encoder", t.numHiddenLayers(), t.hiddenSize(), t.intermediateSize());
        layerNormShapes(s, "text_model.final_layer_norm", t.hiddenSize());
        s.put("vision_model.embeddings.class_embedding", new Shape(v.hiddenSize()));
        s.put("vision_model.embeddings.patch_embedding.weight",
                new Shape(v.hiddenSize(), v.numChannels(), v.patchSize(), v.patchSize()));
        s.put("vision_model.embeddings.position_embedding.weight", new Shape(v.numPositions(), v.hiddenSize()));
        layerNormShapes(s, "vision_model.pre_layrnorm", v.hiddenSize());
        encoderShapes(s, "vision_model.encoder", v.numHiddenLayers(), v.hiddenSize(), v.intermediateSize());
        layerNormShapes(s, "vision_model.post_layernorm", v.hiddenSize());
        s.put("visual_projection.weight", new Shape(config.projectionDim(), v.hiddenSize()));
        s.put("text_projection.weight", new Shape(config.projectionDim(), t.hiddenSize()));
        return s;
    }

    private static void encoderShapes(Map<String, Shape> s, String prefix, int layers, int hidden, int intermediate) {
        for (int i = 0; i < layers; i++) {
            String p = prefix + ".layers." + i + ".";
            for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
                s.put(p + "self_attn." + proj + ".weight", new Shape(hidden, hidden));
                s.put(p + "self_attn." + proj + ".bias", new Shape(hidden));
            }
            layerNormShapes(s, p + "layer_norm1", hidden);
            s.put(p + "mlp.fc1.weight", new Shape(intermediate, hidden));
            s.put(p + "mlp.fc1.bias", new Shape(intermediate));
            s.put(p + "mlp.fc2.weight", new Shape(hidden, intermediate));
            s.put(p + "mlp.fc2.bias", new Shape(hidden));
            layerNormShapes(s, p + "layer_norm2", hidden);
        }
    }

    private static void layerNormShapes(Map<String, Shape> s, String prefix, int hidden) {
        s.put(prefix + ".weight", new Shape(hidden));
        s.put(prefix + ".bias", new Shape(hidden));
    }

    // ------------------------------------------------------------------------------------------ accessors

    /** The configuration. */
    public ClipConfig getConfig() {
        return config;
    }

    /** The number of weights (every tensor of the state dict, the token embedding included). */
    public long numParameters() {
        return getParameters().values().stream().mapToLong(NDArray::size).sum();
    }

    /** The parameters under transformers' state-dict names (unmodifiable map of the live arrays). */
    public Map<String, NDArray> getParameters() {
        return params;
    }

    /** One parameter by its state-dict name. */
    public NDArray getParameter(String name) {
        NDArray a = params.get(name);
        if (a == null) {
            throw new IllegalArgumentException("CLIP has no parameter '" + name + "'");
        }
        return a;
    }

    /** {@code logit_scale}: the log of the temperature factor (a scalar). */
    public NDArray getLogitScale() {
        return params.get("logit_scale");
    }

    /** Marks every parameter as requiring (or not) a gradient. Not needed for gradients with respect to the inputs. */
    public void setRequiresGradient(boolean requiresGrad) {
        for (NDArray a : params.values()) {
            a.setRequiresGradient(requiresGrad);
        }
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        manager.close();
    }

    // ------------------------------------------------------------------------------------------ forward

    /** {@code get_image_features}: projected pooled vision output [B, projection_dim] (not normalised). */
    public NDArray getImageFeatures(NDArray pixelValues) {
        return project(visionModel(pixelValues).pooledOutput(), "visual_projection.weight");
    }

    /**
     * {@code get_text_features}: projected pooled text output [B, projection_dim] (not normalised).
     *
     * @param inputIds int64 (or int32) ids [B, L], L at most max_position_embeddings
     * @param attentionMask 1 for tokens, 0 for padding [B, L], or null (causal mask only, as OpenAI)
     */
    public NDArray getTextFeatures(NDArray inputIds, NDArray attentionMask) {
        return project(textModel(inputIds, attentionMask).pooledOutput(), "text_projection.weight");
    }

    /** {@code CLIPModel.forward}: logits between every image and every text, and the normalised embeddings. */
    public ClipOutput forward(NDArray pixelValues, NDArray inputIds, NDArray attentionMask) {
        NDArray imageEmbeds = normalize(getImageFeatures(pixelValues));
        NDArray textEmbeds = normalize(getTextFeatures(inputIds, attentionMask));
        NDArray scale = scoped(getLogitScale().exp(), textEmbeds);
        NDArray logitsPerText = textEmbeds.matMul(imageEmbeds.transpose()).mul(scale);
        return new ClipOutput(logitsPerText.transpose(), logitsPerText, textEmbeds, imageEmbeds);
    }

    /** {@code F.normalize(x, dim=-1)}: x / max(||x||, 1e-12) along the last axis. */
    public static NDArray normalize(NDArray x) {
        return x.div(Scalars.maximum(x.norm(new int[] {-1}, true), 1e-12));
    }

    /** The vision transformer ({@code CLIPVisionTransformer}) on pixel values [B, C, image_size, image_size]. */
    public VisionOutput visionModel(NDArray pixelValues) {
        ClipConfig.VisionConfig v = config.visionConfig();
        Shape shape = pixelValues.getShape();
        if (shape.dimension() != 4 || shape.get(1) != v.numChannels() || shape.get(2) != v.imageSize()
                || shape.get(3) != v.imageSize()) {
            throw new IllegalArgumentException("CLIP's vision model takes pixel values [batch, " + v.numChannels() + ", "
                    + v.imageSize() + ", " + v.imageSize() + "], got " + shape
                    + ": resize/crop to " + v.imageSize() + " and normalise first (see ClipLoss.preprocess).");
        }
        long b = shape.get(0);
        int c = v.numChannels();
        int p = v.patchSize();
        int g = v.gridSize();
        int d = v.hiddenSize();
        String pre = "vision_model.";
        // patch_embedding: Conv2d(c, d, kernel=p, stride=p, bias=False) = non-overlapping patches times the kernel
        NDArray patches = pixelValues.reshape(b, c, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(b, (long) g * g, (long) c * p * p);
        NDArray kernel = scoped(getParameter(pre + "embeddings.patch_embedding.weight").reshape(d, (long) c * p * p).transpose(), pixelValues);
        NDArray patchEmbeds = patches.matMul(kernel);                                   // [B, g*g, D]
        NDArray classEmbeds = scoped(getParameter(pre + "embeddings.class_embedding").reshape(1, 1, d), pixelValues)
                .broadcast(b, 1, d);
        NDArray h = NDArrays.concat(new NDList(classEmbeds, patchEmbeds), 1)
                .add(getParameter(pre + "embeddings.position_embedding.weight"));
        h = layerNorm(h, pre + "pre_layrnorm", v.layerNormEps());
        h = encoder(h, pre + "encoder", v.numHiddenLayers(), v.numAttentionHeads(), v.layerNormEps(), v.hiddenAct(), null, null);
        NDArray cls = h.get(":, 0, :");
        NDArray pooled = layerNorm(cls, pre + "post_layernorm", v.layerNormEps());
        return new VisionOutput(h, pooled);
    }

    /**
     * The text transformer ({@code CLIPTextTransformer}).
     *
     * @param inputIds int64 (or int32) ids [B, L]
     * @param attentionMask [B, L] with 1 for tokens and 0 for padding, or null for the causal mask only
     */
    public TextOutput textModel(NDArray inputIds, NDArray attentionMask) {
        ClipConfig.TextConfig t = config.textConfig();
        Shape shape = inputIds.getShape();
        if (shape.dimension() != 2 || shape.get(1) > t.maxPositionEmbeddings() || shape.get(1) < 1) {
            throw new IllegalArgumentException("CLIP's text model takes ids [batch, length <= " + t.maxPositionEmbeddings()
                    + "], got " + shape + ": encode the texts with ClipTokenizer.");
        }
        if (attentionMask != null && !attentionMask.getShape().equals(shape)) {
            throw new IllegalArgumentException("attention mask " + attentionMask.getShape() + " does not match the ids " + shape);
        }
        int b = Math.toIntExact(shape.get(0));
        int len = Math.toIntExact(shape.get(1));
        NDManager m = inputIds.getManager();
        NDArray ids = inputIds.getDataType() == DataType.INT64 ? inputIds : inputIds.toType(DataType.INT64, false);
        long[] idValues = ids.toLongArray();
        String pre = "text_model.";
        NDArray h = Embedding.embedding(ids, getParameter(pre + "embeddings.token_embedding.weight"), SparseFormat.DENSE)
                .singletonOrThrow();
        NDArray positions = scoped(getParameter(pre + "embeddings.position_embedding.weight").get("0:" + len), ids);
        h = h.add(positions);
        // causal mask [1, 1, L, L]: float32 min above the diagonal (_create_4d_causal_attention_mask)
        float[] causal = new float[len * len];
        for (int i = 0; i < len; i++) {
            for (int j = i + 1; j < len; j++) {
                causal[i * len + j] = FLOAT_MIN;
            }
        }
        NDArray causalMask = m.create(causal, new Shape(1, 1, len, len)).toDevice(h.getDevice(), false);
        NDArray paddingMask = null;
        if (attentionMask != null) {
            // _prepare_4d_attention_mask: (1 - mask) filled with float32 min, broadcast over queries [B, 1, 1, L]
            long[] maskValues = attentionMask.toType(DataType.INT64, false).toLongArray();
            float[] pad = new float[maskValues.length];
            for (int i = 0; i < pad.length; i++) {
                pad[i] = maskValues[i] == 0 ? FLOAT_MIN : 0f;
            }
            paddingMask = m.create(pad, new Shape(b, 1, 1, len)).toDevice(h.getDevice(), false);
        }
        h = encoder(h, pre + "encoder", t.numHiddenLayers(), t.numAttentionHeads(), t.layerNormEps(), t.hiddenAct(),
                causalMask, paddingMask);
        h = layerNorm(h, pre + "final_layer_norm", t.layerNormEps());
        // pooled: hidden state at the eos position of each row, taken as a one-hot weighted sum (exact, differentiable)
        float[] pick = new float[b * len];
        for (int r = 0; r < b; r++) {
            pick[r * len + eosPosition(idValues, r * len, len, t.eosTokenId())] = 1f;
        }
        NDArray onehot = m.create(pick, new Shape(b, len, 1)).toDevice(h.getDevice(), false);
        NDArray pooled = h.mul(onehot).sum(new int[] {1});
        return new TextOutput(h, pooled);
    }

    /** Legacy ({@code eos_token_id == 2}): the first position of the largest id; else the first position equal to eos (0 if none). */
    static int eosPosition(long[] ids, int offset, int len, int eosTokenId) {
        int best = 0;
        if (eosTokenId == 2) {
            for (int i = 1; i < len; i++) {
                if (ids[offset + i] > ids[offset + best]) {
                    best = i;
                }
            }
            return best;
        }
        for (int i = 0; i < len; i++) {
            if (ids[offset + i] == eosTokenId) {
                return i;
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------------------------------ layers

    private NDArray encoder(NDArray h, String prefix, int layers, int heads, double eps, String act,
                            NDArray causalMask, NDArray paddingMask) {
        for (int i = 0; i < layers; i++) {
            String p = prefix + ".layers." + i + ".";
            NDArray residual = h;
            h = layerNorm(h, p + "layer_norm1", eps);
            h = attention(h, p + "self_attn.", heads, causalMask, paddingMask);
            h = residual.add(h);
            residual = h;
            h = layerNorm(h, p + "layer_norm2", eps);
            h = linear(activation(linear(h, p + "mlp.fc1"), act), p + "mlp.fc2");
            h = residual.add(h);
        }
        return h;
    }

    private NDArray attention(NDArray h, String p, int heads, NDArray causalMask, NDArray paddingMask) {
        Shape s = h.getShape();
        long b = s.get(0);
        long len = s.get(1);
        long d = s.get(2);
        long hd = d / heads;
        float scale = (float) Math.pow(hd, -0.5);                                      // head_dim^-0.5
        NDArray q = Scalars.mul(linear(h, p + "q_proj"), scale).reshape(b, len, heads, hd).transpose(0, 2, 1, 3);
        NDArray k = linear(h, p + "k_proj").reshape(b, len, heads, hd).transpose(0, 2, 1, 3);
        NDArray v = linear(h, p + "v_proj").reshape(b, len, heads, hd).transpose(0, 2, 1, 3);
        NDArray w = q.matMul(k.transpose(0, 1, 3, 2));                                // [B, heads, L, L]
        if (causalMask != null) {
            w = w.add(causalMask);
        }
        if (paddingMask != null) {
            w = w.add(paddingMask);
        }
        w = w.softmax(-1);
        NDArray o = w.matMul(v).transpose(0, 2, 1, 3).reshape(b, len, d);
        return linear(o, p + "out_proj");
    }

    private NDArray linear(NDArray x, String prefix) {
        return Linear.linear(x, getParameter(prefix + ".weight"), getParameter(prefix + ".bias")).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String prefix, double eps) {
        NDArray gamma = getParameter(prefix + ".weight");
        return LayerNorm.layerNorm(x, gamma.getShape(), gamma, getParameter(prefix + ".bias"), (float) eps).singletonOrThrow();
    }

    private NDArray project(NDArray pooled, String weight) {
        return pooled.matMul(scoped(getParameter(weight).transpose(), pooled));
    }

    private static NDArray activation(NDArray x, String act) {
        if (act.equals("gelu")) {
            return Activation.gelu(x);
        }
        return x.mul(Activation.sigmoid(Scalars.mul(x, 1.702)));                     // quick_gelu: x * sigmoid(1.702 x)
    }

    /** Moves an array derived from a parameter onto the manager of {@code like}, so the model's manager does not grow. */
    private static NDArray scoped(NDArray derived, NDArray like) {
        derived.attach(like.getManager());
        return derived;
    }

    @Override
    public String toString() {
        long n = params.values().stream().mapToLong(a -> a.getShape().size()).sum();
        return "ClipModel(" + params.size() + " tensors, " + n + " parameters, " + config + ")";
    }
}
