package diffusionkit.cli;

import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.training.TrainingSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.nio.file.Path;

/**
 * The course's {@code finetune_model.py} in Java: fine-tunes a pretrained diffusion pipeline on a dataset with
 * AdamW (lr 1e-5), gradient accumulation and ExponentialLR (gamma 0.9 per epoch), logging sample grids and saving
 * checkpoints, then saves the pipeline to {@code --model_save_name}.
 *
 * <p>{@code --image_size} must equal the model's {@code sample_size}: a UNet can run at other sizes, but the
 * fine-tune would then train a different resolution from the one the model learned; the command refuses and says
 * which size to pass.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a diffusion model on a dataset (the course's finetune_model.py).",
                "Example: ./kit finetune --image_size 32 --dataset_name emoji-twitter --batch_size 16 --max_steps 200"})
final class FinetuneCommand extends TrainOptions {

    @Option(names = {"--image_size", "--image-size"},
            description = "image size in pixels; must equal the start model's sample_size (default: ${DEFAULT-VALUE})")
    int imageSize = 256;

    @Option(names = {"--start_model", "--start-model"},
            description = "a diffusers folder (pipeline or bare UNet) or a kit model name from datasets/models/"
                    + " (default: ${DEFAULT-VALUE})")
    String startModel = KitModels.BASE_MODEL;

    @Option(names = {"--model_save_name", "--model-save-name"},
            description = "folder the fine-tuned pipeline is saved to (default: ${DEFAULT-VALUE})")
    Path modelSaveName = Path.of("runs", "finetune", "model");

    @Option(names = {"--log_dir", "--log-dir"},
            description = "folder of loss.csv, loss.png, samples/ and checkpoints/ (default: ${DEFAULT-VALUE})")
    Path logDir = Path.of("runs", "finetune");

    @Option(names = {"--lr"}, description = "AdamW learning rate (default: ${DEFAULT-VALUE})")
    double lr = 1e-5;

    @Override
    double learningRate() {
        return lr;
    }

    @Override
    Path logDir() {
        return logDir;
    }

    @Override
    Path modelSaveName() {
        return modelSaveName;
    }

    @Override
    public Integer call() throws Exception {
        validateCommon();
        positive("--image_size", imageSize);
        Path folder = KitModels.resolve(startModel, "--start_model");
        try (NDManager manager = NDManager.newBaseManager(chosenDevice())) {
            DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(folder, manager);
            UNet2DConfig unetConfig = ((UNet2DModel) pipe.unet()).config(); // fromPretrained reads a diffusers UNet
            int[] hw = unetConfig.sampleSize();
            int trained = hw == null ? imageSize : hw[0];
            if (trained != imageSize) {
                throw new ParameterException(spec.commandLine(), "--image_size " + imageSize + " does not fit the start"
                        + " model: " + startModel + " was trained at " + trained + "x" + trained + " pixels (sample_size "
                        + trained + "). Pass --image_size " + trained + " (a fine-tune at another size would train a"
                        + " different resolution).");
            }
            ImageDataset data = loadDataset(imageSize, unetConfig.inChannels());
            TrainingSummary s = runTraining(pipe.unet(), pipe.scheduler(), data);
            return 0;
        }
    }
}
