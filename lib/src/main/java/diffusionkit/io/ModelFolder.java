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
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The one save / load of a model folder, in the spirit of diffusers' {@code ModelMixin.save_pretrained} /
 * {@code from_pretrained}: a config file (a {@link JsonConfig}), a weights file (safetensors with
 * {@code {"format": "pt"}}, as diffusers and transformers write them) and, for a model made of models, sub-folders.
 * A folder is written atomically ({@link #write}: a complete new folder replaces the old one; files of the old folder
 * that the save does not write, such as a model card or {@code scheduler/}, are carried over). {@link #load} builds
 * the model, reads the weights on a CPU scratch manager and copies them in; any failure closes the model and is a
 * {@link CheckpointException} naming the config file or the weights file.
 *
 * <pre>{@code
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

    /** Reads the weights of a folder onto a manager. */
    @FunctionalInterface
    public interface WeightsReader {
        /** The weights, created on {@code manager}. */
        Weights read(NDManager manager) throws IOException;
    }

    /** {@link #save(Path, JsonConfig, String, Map, Map)} without sub-folders. */
    public static void save(Path folder, JsonConfig<?> config, String weightsName, Map<String, NDArray> weights)
            throws IOException {
        save(folder, config, weightsName, weights, Map.of());
    }

    /**
     * Writes a model folder ({@link #write}): {@code config}'s file, {@code weights} as safetensors under
     * {@code weightsName} (none when {@code weights} is null; an old file of that name is not carried over) and
     * each sub-folder by its writer.
     *
     * @param subfolders sub-folder name to what writes it (e.g. {@code "unet" -> unet::savePretrained})
     */
    public static void save(Path folder, JsonConfig<?> config, String weightsName, Map<String, NDArray> weights,
            Map<String, AtomicFiles.FolderWriter> subfolders) throws IOException {
        Set<String> written = new HashSet<>(subfolders.keySet());
        written.add(config.fileName());
        written.add(weightsName);
        write(folder, written, tmp -> {
            config.save(tmp);
            if (weights != null) {
                Safetensors.write(tmp.resolve(weightsName), weights, Map.of("format", "pt"));
            }
            for (Map.Entry<String, AtomicFiles.FolderWriter> e : subfolders.entrySet()) {
                e.getValue().write(tmp.resolve(e.getKey()));
            }
        });
    }

    /**
     * Writes {@code folder} atomically by {@code writer}; the entries of an existing folder are carried over, but
     * for the top-level names in {@code written} (what the writer writes, or what must go).
     */
    public static void write(Path folder, Set<String> written, AtomicFiles.FolderWriter writer) throws IOException {
        Path target = folder.toAbsolutePath();
        AtomicFiles.writeFolder(target, tmp -> {
            if (Files.isDirectory(target)) {
                try (Stream<Path> walk = Files.walk(target)) { // parents before their entries
                    for (Path p : walk.skip(1).toList()) {
                        Path rel = target.relativize(p);
                        if (!written.contains(rel.getName(0).toString())) {
                            Path dest = tmp.resolve(rel.toString());
                            if (Files.isDirectory(p)) {
                                Files.createDirectories(dest);
                            } else {
                                Files.copy(p, dest);
                            }
                        }
                    }
                }
            }
            writer.write(tmp);
        });
    }

    /**
     * Reads the weights of {@code folder}.
     *
     * @param weightsName the file to read; null: the one diffusers would pick ({@link StateDicts#resolve})
     * @throws CheckpointException when the file is missing or unreadable, naming it and the fix
     */
    public static Weights readWeights(Path folder, String weightsName, NDManager manager) throws IOException {
        Path file = weightsName == null ? StateDicts.resolve(folder, null) : folder.resolve(weightsName);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(folder + " lacks " + weightsName + ": save the model again with "
                    + "savePretrained, or put the weights file saved with its config next to it.");
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
    public static <M extends AutoCloseable> M load(Path configFile, Supplier<M> create, WeightsReader read,
            BiConsumer<M, Map<String, NDArray>> loadStateDict) throws IOException {
        M model;
        try {
            model = create.get();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(configFile + ": " + e.getMessage(), e);
        }
        boolean ok = false;
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
            Weights w = read.read(cpu);
            try {
                loadStateDict.accept(model, w.tensors());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(w.source() + " does not match " + configFile + ": " + e.getMessage(), e);
            }
            ok = true;
            return model;
        } finally {
            if (!ok) {
                try {
                    model.close();
                } catch (Exception e) {
                    // the error being thrown is the one to report
                }
            }
        }
    }

    /** {@code tensors} with {@code prefix} before every name (a sub-model's weights in its parent's state dict). */
    public static Map<String, NDArray> prefixed(String prefix, Map<String, NDArray> tensors) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }
}
