package diffusionkit.cli;

import ai.djl.ndarray.NDManager;
import diffusionkit.data.Preprocess;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.training.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
            description = "a diffusers folder (pipeline or bare UNet), a kit model name from datasets/models/ or a"
                    + " Hugging Face Hub id (google/ddpm-celebahq-256, optionally @revision)"
                    + " (default: ${DEFAULT-VALUE})")
    String startModel = KitModels.BASE_MODEL;

    FinetuneCommand() {
        super("finetune");
    }

    @Override
    public Integer call() throws Exception {
        TrainingConfig config = trainingConfig(TrainingConfig.builder());
        positive("--image_size", imageSize);
        Path folder = KitModels.resolve(startModel, "--start_model");
        try (NDManager manager = NDManager.newBaseManager(device(device))) {
            DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(folder, manager);
            UNet2DConfig unetConfig = ((UNet2DModel) pipe.unet()).config(); // fromPretrained reads a diffusers UNet
            int[] hw = unetConfig.sampleSize();
            int trained = hw == null ? imageSize : hw[0];
            if (trained != imageSize) {
                throw bad("--image_size " + imageSize + " does not fit the start model: " + startModel + " was trained at "
                        + trained + "x" + trained + " pixels (sample_size " + trained + "). Pass --image_size " + trained
                        + " (a fine-tune at another size would train a different resolution).");
            }
            Preprocess course = Preprocess.course(imageSize).withChannels(unetConfig.inChannels());
            train(pipe.unet(), pipe.scheduler(), loadDataset(course), config, resume ? logDir : null);
            return 0;
        }
    }
}
