package diffusionkit.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.data.Preprocess;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.schedulers.SchedulerConfig;
import diffusionkit.training.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Trains a fresh UNet2DModel from a config (a {@code config.json} path or a preset) with the same loop as
 * {@code finetune}. The default learning rate is 1e-4 (ten times finetune's 1e-5: a model trained from random
 * weights needs larger steps; diffusers' train_unconditional.py also uses 1e-4).
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a fresh UNet2DModel from a config JSON or a preset (emoji32, emoji32-small, tiny).",
                "Example: ./kit pretrain --config emoji32 --dataset_name emoji-google --classes \"Smileys & Emotion\""})
final class PretrainCommand extends TrainOptions {

    /**
     * Named configs. {@code emoji32}: the kit's base model (32x32 RGB, 3 levels 32/64/128, one resnet per level,
     * attention only at 8x8, GroupNorm 8; 2.7 M parameters). {@code emoji32-small}: the first base model's shape
     * (16/32/64, 0.7 M parameters: 4x cheaper, but its samples stayed blobs after 5000 steps). {@code tiny}: a
     * test-size model (16x16, 8/16 channels).
     */
    static final Map<String, String> PRESETS = Map.of(
            "emoji32", """
                    {"sample_size": 32, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                     "block_out_channels": [32, 64, 128],
                     "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
                     "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
                     "norm_num_groups": 8, "attention_head_dim": 32}""",
            "emoji32-small", """
                    {"sample_size": 32, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                     "block_out_channels": [16, 32, 64],
                     "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
                     "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
                     "norm_num_groups": 8, "attention_head_dim": 32}""",
            "tiny", """
                    {"sample_size": 16, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                     "block_out_channels": [8, 16],
                     "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
                     "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
                     "norm_num_groups": 4, "attention_head_dim": 8}""");

    @Option(names = {"--config"}, description = "a UNet2DModel config.json (file or folder) or a preset: "
            + "emoji32, emoji32-small, tiny (default: ${DEFAULT-VALUE})")
    String config = "emoji32";

    @Option(names = {"--image_size", "--image-size"},
            description = "image size in pixels; 0 takes the config's sample_size, another value replaces it"
                    + " (default: ${DEFAULT-VALUE})")
    int imageSize = 0;

    @Option(names = {"--beta_schedule", "--beta-schedule"},
            description = "DDPM noise schedule: linear, scaled_linear or squaredcos_cap_v2 (default: ${DEFAULT-VALUE})")
    String betaSchedule = "squaredcos_cap_v2";

    @Option(names = {"--num_train_timesteps", "--num-train-timesteps"},
            description = "DDPM training timesteps (default: ${DEFAULT-VALUE})")
    int numTrainTimesteps = 1000;

    PretrainCommand() {
        super("pretrain");
        lr = 1e-4;
    }

    /** The UNet config named by --config. */
    UNet2DConfig unetConfig() throws java.io.IOException {
        UNet2DConfig c;
        if (PRESETS.containsKey(config)) {
            c = UNet2DConfig.fromJson(PRESETS.get(config));
        } else if (Files.exists(Path.of(config))) {
            c = UNet2DConfig.load(Path.of(config));
        } else {
            throw bad("--config '" + config + "' is neither a preset " + PRESETS.keySet()
                    + " nor an existing config.json file or folder");
        }
        if (imageSize > 0) {
            c = c.with("sample_size", imageSize);
        }
        try {
            c.validate();
        } catch (IllegalArgumentException e) {
            throw bad("--config " + config + ": " + e.getMessage());
        }
        if (c.sampleSize() == null) {
            throw bad("--config " + config + " has no sample_size: pass --image_size");
        }
        return c;
    }

    @Override
    public Integer call() throws Exception {
        TrainingConfig settings = trainingConfig(TrainingConfig.builder());
        nonNegative("--image_size", imageSize);
        positive("--num_train_timesteps", numTrainTimesteps);
        UNet2DConfig c = unetConfig();
        if (!SchedulerConfig.BETA_SCHEDULES.contains(betaSchedule)) {
            throw bad("--beta_schedule '" + betaSchedule + "': use one of " + SchedulerConfig.BETA_SCHEDULES);
        }
        Scheduler scheduler = Scheduler.fromConfig(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.BETA_SCHEDULE, betaSchedule)
                .with(SchedulerConfig.NUM_TRAIN_TIMESTEPS, numTrainTimesteps));
        try (NDManager manager = NDManager.newBaseManager(device(device))) {
            Engine.getInstance().setRandomSeed((int) seed); // the initial weights
            try (UNet2DModel unet = new UNet2DModel(c, manager)) {
                System.err.println("UNet2DModel " + config + ": " + unet.numParameters() + " parameters");
                ImageDataset data = loadDataset(Preprocess.course(c.sampleSize()[0]).withChannels(c.inChannels()));
                train(unet, scheduler, data, settings, resume ? logDir : null);
            }
            return 0;
        }
    }
}
