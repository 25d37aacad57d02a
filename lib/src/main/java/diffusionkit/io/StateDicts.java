package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads a state dict (name to tensor) from a weights file or from a model folder, choosing the file the way
 * diffusers' {@code from_pretrained} and transformers do.
 *
 * <p>In a folder the first of these names that exists is read ({@link #candidateNames(String)}):
 * {@code diffusion_pytorch_model.safetensors}, its sharded index {@code diffusion_pytorch_model.safetensors.index.json},
 * {@code diffusion_pytorch_model.bin}, {@code diffusion_pytorch_model.bin.index.json}, then the transformers names
 * {@code model.safetensors}, {@code model.safetensors.index.json}, {@code pytorch_model.bin},
 * {@code pytorch_model.bin.index.json}. With a variant such as {@code "fp16"} the names carry it as diffusers writes
 * them ({@code diffusion_pytorch_model.fp16.safetensors}, {@code diffusion_pytorch_model.safetensors.index.fp16.json});
 * variant files are never picked unless asked for. Safetensors files are read by {@link Safetensors}, PyTorch
 * {@code .bin} files by {@link PytorchBin} (no code from the file is run). Sharded checkpoints
 * ({@code *.index.json} with a {@code weight_map}) are read shard by shard.
 */
public final class StateDicts {

    /** The weight file names diffusers and transformers save, in the order they are looked for. */
    private static final String[] NAMES = {
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json",
        "diffusion_pytorch_model.bin",
        "diffusion_pytorch_model.bin.index.json",
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    };

    private static final Pattern VARIANT_FILE = Pattern.compile(
            "(?:diffusion_pytorch_model|model|pytorch_model)\\.(?:(?:safetensors|bin)\\.index\\.([A-Za-z0-9_-]+)\\.json"
                    + "|([A-Za-z0-9_-]+)\\.(?:safetensors|bin))");

    private StateDicts() {}

    /**
     * Loads the weights of {@code fileOrFolder} without a variant.
     *
     * @see #load(Path, NDManager, String)
     */
    public static Map<String, NDArray> load(Path fileOrFolder, NDManager manager) throws IOException {
        return load(fileOrFolder, manager, null);
    }

    /**
     * Loads the weights of a file, or of the weights file a model folder holds.
     *
     * @param fileOrFolder a {@code .safetensors}, {@code .bin}/{@code .pt} or {@code *.index.json} file, or a folder
     * @param manager where the arrays are created
     * @param variant for a folder, the variant to read ({@code "fp16"} reads {@code diffusion_pytorch_model.fp16.safetensors});
     *     null for the plain files
     * @return name to tensor, in file order; floating-point tensors as float32
     * @throws CheckpointException when no weights are found or the file is invalid; the message lists what was looked
     *     for and the fix
     */
    public static Map<String, NDArray> load(Path fileOrFolder, NDManager manager, String variant) throws IOException {
        Path file = Files.isDirectory(fileOrFolder) ? resolve(fileOrFolder, variant) : fileOrFolder;
        return loadFile(file, manager);
    }

    /**
     * Loads one weights file, telling its format from its name and first bytes: safetensors, a {@code torch.save}
     * file (zip or legacy), or a sharded index ({@code *.index.json}).
     */
    public static Map<String, NDArray> loadFile(Path file, NDManager manager) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": no such weights file or folder. Pass a .safetensors or .bin file, "
                    + "or the folder save_pretrained wrote.");
        }
        String name = file.getFileName().toString();
        if (name.endsWith(".json")) {
            return loadSharded(file, manager);
        }
        if (name.endsWith(".safetensors") || looksLikeSafetensors(file)) {
            return Safetensors.read(file, manager);
        }
        return PytorchBin.read(file, manager);
    }

    /**
     * The weight file names looked for in a folder, in order.
     *
     * @param variant null for the plain names, else e.g. {@code "fp16"}
     */
    public static List<String> candidateNames(String variant) {
        List<String> out = new ArrayList<>();
        for (String n : NAMES) {
            out.add(addVariant(n, variant));
        }
        return out;
    }

    /**
     * The weights file (or sharded index) that {@link #load(Path, NDManager, String)} would read in {@code folder}.
     *
     * @throws CheckpointException when the folder holds none of {@link #candidateNames(String)}
     */
    public static Path resolve(Path folder, String variant) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new CheckpointException(folder + ": no such folder.");
        }
        if (variant != null && !variant.matches("[A-Za-z0-9_-]+")) {
            throw new CheckpointException("invalid variant '" + variant + "': use a name such as fp16 (or null for none).");
        }
        List<String> names = candidateNames(variant);
        for (String n : names) {
            Path p = folder.resolve(n);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        List<String> present = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            s.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : "")).sorted().forEach(present::add);
        }
        StringBuilder msg = new StringBuilder(folder + " holds no model weights" + (variant == null ? "" : " of variant '" + variant + "'")
                + ": looked for " + String.join(", ", names) + ". It contains "
                + (present.isEmpty() ? "nothing" : present.size() > 20 ? present.subList(0, 20) + " ..." : present.toString()) + ".");
        TreeSet<String> variants = new TreeSet<>();
        for (String p : present) {
            Matcher m = VARIANT_FILE.matcher(p);
            if (m.matches()) {
                variants.add(m.group(1) != null ? m.group(1) : m.group(2));
            }
        }
        if (variant != null) {
            variants.remove(variant);
        }
        if (!variants.isEmpty()) {
            msg.append(" It has weights of variant ").append(variants).append(": load them with variant \"")
                    .append(variants.first()).append("\"").append(variant != null ? " (or null for the plain files)." : ".");
        } else if (present.contains("unet/")) {
            msg.append(" This looks like a pipeline folder: pass its unet/ subfolder.");
        } else {
            msg.append(" Pass the folder that model.save_pretrained(...) wrote (or a weights file itself), or download the "
                    + "model's weights into it.");
        }
        throw new CheckpointException(msg.toString());
    }

    /** diffusers' {@code _add_variant}: the variant goes before the last extension. */
    private static String addVariant(String name, String variant) {
        if (variant == null) {
            return name;
        }
        int dot = name.lastIndexOf('.');
        return name.substring(0, dot) + "." + variant + name.substring(dot);
    }

    private static boolean looksLikeSafetensors(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(9);
            return head.length == 9 && head[8] == '{' && head[7] == 0 && head[6] == 0;
        }
    }

    /** A sharded checkpoint: {@code {"metadata": ..., "weight_map": {name: shard file}}} next to its shards. */
    private static Map<String, NDArray> loadSharded(Path index, NDManager manager) throws IOException {
        String fix = " Re-download the checkpoint (the index and every shard it lists) or save it again with save_pretrained.";
        if (Files.size(index) > 64L * 1024 * 1024) {
            throw new CheckpointException(index + ": the shard index is larger than 64 MiB; it is not a shard index." + fix);
        }
        JsonObject weightMap;
        try {
            JsonElement root = JsonParser.parseString(Files.readString(index, StandardCharsets.UTF_8));
            weightMap = root.getAsJsonObject().getAsJsonObject("weight_map");
            if (weightMap == null) {
                throw new IllegalStateException("no weight_map");
            }
        } catch (JsonParseException | IllegalStateException | ClassCastException e) {
            throw new CheckpointException(index + " is not a sharded-checkpoint index: it needs a JSON object with a "
                    + "\"weight_map\" object of tensor name -> shard file (" + e.getMessage() + ")." + fix, e);
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        List<String> shards = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
            String shard = e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : "";
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.endsWith(".json")) {
                throw new CheckpointException(index + ": tensor '" + e.getKey() + "' maps to '" + shard
                        + "', which is not a shard file name in the index's folder." + fix);
            }
            shardOf.put(e.getKey(), shard);
            if (!shards.contains(shard)) {
                shards.add(shard);
            }
        }
        Path folder = index.toAbsolutePath().getParent();
        Map<String, NDArray> all = new LinkedHashMap<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        boolean ok = false;
        try {
            for (String shard : shards) {
                Path p = folder.resolve(shard);
                if (!Files.isRegularFile(p)) {
                    throw new CheckpointException(index + " lists shard " + shard + ", which is missing from " + folder + "." + fix);
                }
                for (Map.Entry<String, NDArray> e : loadFile(p, manager).entrySet()) {
                    NDArray before = all.put(e.getKey(), e.getValue());
                    if (before != null) {
                        before.close();
                        throw new CheckpointException(index + ": tensor '" + e.getKey() + "' appears in more than one shard." + fix);
                    }
                }
            }
            for (Map.Entry<String, String> e : shardOf.entrySet()) {
                NDArray a = all.remove(e.getKey());
                if (a == null) {
                    throw new CheckpointException(index + ": tensor '" + e.getKey() + "' is listed in shard " + e.getValue()
                            + " but that shard does not hold it." + fix);
                }
                out.put(e.getKey(), a);
            }
            out.putAll(all); // tensors a shard holds beyond the index, in shard order
            ok = true;
            return out;
        } finally {
            if (!ok) {
                all.values().forEach(NDArray::close);
                out.values().forEach(NDArray::close);
            }
        }
    }
}
