package diffusionkit.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.viz.ImageGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

/** Writes a PNG grid of samples from a saved model. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample images from a saved model into a PNG grid.",
                "Example: ./kit sample --model emoji-base --num_images 16 --steps 50 --output samples.png"})
final class SampleCommand extends KitCommand {

    @Option(names = {"--model"}, description = "a diffusers folder (pipeline or bare UNet), a kit model name or a"
            + " Hugging Face Hub id (google/ddpm-celebahq-256, optionally @revision)"
            + " (default: ${DEFAULT-VALUE})")
    String model = KitModels.BASE_MODEL;

    @Option(names = {"--num_images", "--num-images"}, description = "images to sample (default: ${DEFAULT-VALUE})")
    int numImages = 16;

    @Option(names = {"--steps"}, description = "denoising steps (default: ${DEFAULT-VALUE})")
    int steps = 50;

    @Option(names = {"--scheduler"}, description = "ddim or ddpm (default: ${DEFAULT-VALUE})")
    String scheduler = "ddim";

    @Option(names = {"--eta"}, description = "DDIM eta, 0 for the deterministic sampler (default: ${DEFAULT-VALUE})")
    float eta = 0f;

    @Option(names = {"--nrow"}, description = "images per row of the grid (default: ${DEFAULT-VALUE})")
    int nrow = 8;

    @Option(names = {"--upscale"}, description = "enlarge each pixel to this many (default: ${DEFAULT-VALUE})")
    int upscale = 2;

    @Option(names = {"--seed"}, description = "seed of the starting noise (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = {"--device"}, description = "auto, cpu or gpu (default: ${DEFAULT-VALUE})")
    String device = "auto";

    @Option(names = {"--output"}, description = "the PNG to write (default: ${DEFAULT-VALUE})")
    Path output = Path.of("samples.png");

    @Override
    public Integer call() throws Exception {
        positive("--num_images", numImages);
        positive("--steps", steps);
        positive("--nrow", nrow);
        positive("--upscale", upscale);
        String s = scheduler.toLowerCase(Locale.ROOT);
        if (!s.equals("ddim") && !s.equals("ddpm")) {
            throw bad("--scheduler '" + scheduler + "': use ddim or ddpm");
        }
        Device dev = device(device);
        Path folder = KitModels.resolve(model, "--model");
        try (NDManager manager = NDManager.newBaseManager(dev);
                DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(folder, manager)) {
            long t0 = System.nanoTime();
            PipelineOutput out;
            if (s.equals("ddim")) {
                out = pipe.generateDdim(numImages, steps, eta, seed, null, null);
            } else {
                pipe.setScheduler(new DDPMScheduler(pipe.scheduler().config()));
                out = pipe.generate(numImages, steps, seed);
            }
            try (out) {
                ImageGrid.savePng(ImageGrid.upscale(ImageGrid.of(out.images(), nrow), upscale), output);
            }
            System.out.printf(Locale.ROOT, "wrote %s: %d images, %d %s steps, %.1f s%n", output, numImages, steps,
                    s.toUpperCase(Locale.ROOT), (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }
}
