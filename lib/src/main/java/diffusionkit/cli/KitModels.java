package diffusionkit.cli;

import diffusionkit.hub.HubException;
import diffusionkit.hub.Pretrained;
import diffusionkit.io.CheckpointException;
import diffusionkit.models.UNet2DModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds models for {@code --start_model} and {@code --model}: a local diffusers folder (pipeline or bare UNet), the
 * name of one of the kit's own models under {@code datasets/models/<name>} of the kit's checkout, or a Hugging Face Hub
 * id ({@link Pretrained}).
 */
final class KitModels {

    /** The kit's pretrained base model (the offline stand-in for google/ddpm-celebahq-256). */
    static final String BASE_MODEL = "emoji-base";

    private KitModels() {}

    /** The kit model names present ({@link Pretrained#kitModelNames()}). */
    static List<String> names() {
        return Pretrained.kitModelNames();
    }

    /**
     * The folder for {@code nameOrPath} (a folder, a kit model name, or a Hugging Face Hub id such as
     * google/ddpm-celebahq-256, optionally @revision, fetched into the Hugging Face cache: see {@link Pretrained}),
     * checked to hold weights.
     *
     * @param option the option's name, for the messages
     * @throws CheckpointException naming what is wrong and the fix
     */
    static Path resolve(String nameOrPath, String option) throws IOException {
        Path folder;
        try {
            folder = Pretrained.pipeline(nameOrPath);
        } catch (HubException e) {
            throw new HubException(e.reason(), option + " '" + nameOrPath + "': " + e.getMessage(), e);
        } catch (CheckpointException e) { // neither a folder, a kit model nor a hub id
            throw new CheckpointException(option + " '" + nameOrPath + "' is neither a folder, a kit model nor a hub id."
                    + " Kit models (datasets/models/): " + names() + ". Or give a diffusers folder (model_index.json +"
                    + " unet/ + scheduler/, or config.json + " + UNet2DModel.WEIGHTS_NAME + "), or a Hugging Face Hub id"
                    + " (org/name, e.g. google/ddpm-celebahq-256).", e);
        }
        Path unet = Files.isDirectory(folder.resolve("unet")) ? folder.resolve("unet") : folder;
        if (!Files.isRegularFile(unet.resolve(UNet2DModel.WEIGHTS_NAME))
                && !Files.isRegularFile(unet.resolve(UNet2DModel.WEIGHTS_NAME_BIN))) {
            throw new CheckpointException(option + " '" + nameOrPath + "': " + unet.toAbsolutePath() + " has no weights ("
                    + UNet2DModel.WEIGHTS_NAME + ", or the older " + UNet2DModel.WEIGHTS_NAME_BIN + "). Give a folder written by save_pretrained / ./kit pretrain (pipeline:"
                    + " unet/" + UNet2DModel.WEIGHTS_NAME + "; bare UNet: " + UNet2DModel.WEIGHTS_NAME + " beside"
                    + " config.json), or a kit model name: " + names() + ".");
        }
        if (!Files.isRegularFile(unet.resolve("config.json"))) {
            throw new CheckpointException(option + " '" + nameOrPath + "': " + unet.toAbsolutePath()
                    + " has weights but no config.json. Copy the model's config.json beside its weights.");
        }
        return folder;
    }
}
