package diffusionkit.io;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The one save / load of a model folder, in the spirit of diffusers' {@code ModelMixin.save_pretrained} /
 * {@code from_pretrained}: a config file (a {@link JsonConfig}), a weights file and, for a model made of models,
 * sub-folders.
 *
 * <ul>
 *   <li>{@link #save}: writes the folder atomically (a complete new folder replaces the old one; files of the old
 *       folder that this save does not write, such as a model card or {@code scheduler/}, are carried over); the
 *       weights as safetensors with {@code {"format": "pt"}}, as diffusers and transformers write them;</li>
 *   <li>{@link #readWeights}: the weights file by name, or the one diffusers would pick ({@link StateDicts}:
 *       safetensors, else a PyTorch {@code .bin}, sharded checkpoints too);</li>
 *   <li>{@link #load}: builds the model, reads the weights on a CPU scratch manager, copies them in; any failure
 *       closes the model and is a {@link CheckpointException} naming the config file or the weights file.</li>
 * </ul>
 *
 * <pre>{@code
 * // UNet2DModel
 * ModelFolder.save(folder, config, "diffusion_pytorch_model.safetensors", stateDict());
 * UNet2DModel m = ModelFolder.load(folder.resolve("config.json"), () -> new UNet2DModel(config, manager),
 *         scratch -> ModelFolder.readWeights(folder, null, scratch), UNet2DModel::loadStateDict);
 * }</pre>
 */
public final class ModelFolder {

    private ModelFolder() {}

    /**
     * Tensors read from a model folder.
     *
     * @param source the file(s) they came from, for messages
     * @param tensors name to tensor
     */
    public record Weights(String source, Map<String, NDArray> tensors) {}

    /** Builds a model (from its config; an unsupported config is an IllegalArgumentException). */
    @FunctionalInterface
    public interface Factory<M> {
        /** The new model. */
        M create() throws IOException;
    }

    /** Reads the weights of a folder onto a manager. */
    @FunctionalInterface
    public interface WeightsReader {
        /** The weights, created on {@code manager}. */
        Weights read(NDManager manager) throws IOException;
    }

    /** Copies a state dict into a model (a mismatch is an IllegalArgumentException naming the keys). */
    @FunctionalInterface
    public interface StateDictLoader<M> {
        /** Copies {@code stateDict} into {@code model}. */
        void load(M model, Map<String, NDArray> stateDict);
    }

    /** {@link #save(Path, JsonConfig, String, Map, Map)} without sub-folders. */
    public static void save(Path folder, JsonConfig<?> config, String weightsName, Map<String, NDArray> weights)
            throws IOException {
        save(folder, config, weightsName, weights, Map.of());
    }

    /**
     * Writes a model folder atomically: {@code config}'s file, {@code weights} as safetensors under
     * {@code weightsName} (none when {@code weights} is null) and each sub-folder by its writer. Entries of an
     * existing folder other than these names are carried over (an old {@code weightsName} is not, even when
     * {@code weights} is null).
     *
     * @param subfolders sub-folder name to what writes it (e.g. {@code "unet" -> unet::savePretrained})
     */
    public static void save(Path folder, JsonConfig<?> config, String weightsName, Map<String, NDArray> weights,
            Map<String, AtomicFiles.FolderWriter> subfolders) throws IOException {
        Path target = folder.toAbsolutePath();
        Set<String> written = new HashSet<>(subfolders.keySet());
        written.add(config.fileName());
        written.add(weightsName); // not carried over even when this model has no weights of its own
        AtomicFiles.writeFolder(target, tmp -> {
            if (Files.isDirectory(target)) {
                copyOthers(target, tmp, written);
            }
            config.save(tmp);
            if (weights != null) {
                Safetensors.write(tmp.resolve(weightsName), weights, Map.of("format", "pt"));
            }
            for (Map.Entry<String, AtomicFiles.FolderWriter> e : subfolders.entrySet()) {
                e.getValue().write(tmp.resolve(e.getKey()));
            }
        });
    }

    private static void copyOthers(Path from, Path to, Set<String> skip) throws IOException {
        try (var list = Files.list(from)) {
            for (Path top : list.toList()) {
                if (skip.contains(top.getFileName().toString())) {
                    continue;
                }
                try (var walk = Files.walk(top)) {
                    for (Path p : walk.toList()) {
                        Path dest = to.resolve(from.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(dest);
                        } else {
                            Files.createDirectories(dest.getParent());
                            Files.copy(p, dest);
                        }
                    }
                }
            }
        }
    }

    /**
     * Reads the weights of {@code folder}.
     *
     * @param weightsName the file to read; null: the one diffusers would pick ({@link StateDicts#resolve})
     * @throws CheckpointException when the file is missing or unreadable, naming it and the fix
     */
    public static Weights readWeights(Path folder, String weightsName, NDManager manager) throws IOException {
        Path file;
        if (weightsName == null) {
            file = StateDicts.resolve(folder, null);
        } else {
            file = folder.resolve(weightsName);
            if (!Files.isRegularFile(file)) {
                throw new CheckpointException(folder + " lacks " + weightsName + ": save the model again with "
                        + "savePretrained, or put the weights file saved with its config next to it.");
            }
        }
        return new Weights(file.toString(), StateDicts.loadFile(file, manager));
    }

    /**
     * Builds a model and loads weights into it. The weights are read on a CPU manager that is closed afterwards
     * ({@code loadStateDict} copies them onto the model's device).
     *
     * @param configFile the config the model was built from, for messages
     * @param create builds the model; an IllegalArgumentException (a config the model does not support) becomes a
     *     CheckpointException naming {@code configFile}
     * @param read reads the weights
     * @param loadStateDict copies them in; an IllegalArgumentException (missing / unexpected / mis-shaped keys)
     *     becomes a CheckpointException naming the weights and {@code configFile}
     * @throws CheckpointException as above; the model is closed on any failure
     */
    public static <M extends AutoCloseable> M load(Path configFile, Factory<M> create, WeightsReader read,
            StateDictLoader<M> loadStateDict) throws IOException {
        M model;
        try {
            model = create.create();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(configFile + ": " + e.getMessage(), e);
        }
        boolean ok = false;
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
            Weights w = read.read(cpu);
            try {
                loadStateDict.load(model, w.tensors());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(w.source() + " does not match " + configFile + ": " + e.getMessage(), e);
            }
            ok = true;
            return model;
        } finally {
            if (!ok) {
                closeQuietly(model);
            }
        }
    }

    /** {@code tensors} with {@code prefix} before every name (a sub-model's weights in its parent's state dict). */
    public static Map<String, NDArray> prefixed(String prefix, Map<String, NDArray> tensors) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    private static void closeQuietly(AutoCloseable model) {
        try {
            model.close();
        } catch (Exception e) {
            // the error being thrown is the one to report
        }
    }
}
