package diffusionkit.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.viz.ImageGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import diffusionkit.util.DeviceChoice;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** Writes a PNG grid of samples from a saved model. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample images from a saved model into a PNG grid.",
                "Example: ./kit sample --model emoji-base --num_images 16 --steps 50 --output samples.png"})
final class SampleCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"--model"}, description = "a diffusers folder (pipeline or bare UNet) or a kit model name"
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
        for (var e : List.of(new Object[] {"--num_images", numImages}, new Object[] {"--steps", steps},
                new Object[] {"--nrow", nrow}, new Object[] {"--upscale", upscale})) {
            if ((Integer) e[1] <= 0) {
                throw new ParameterException(spec.commandLine(), e[0] + " must be positive, got " + e[1]);
            }
        }
        String s = scheduler.toLowerCase(java.util.Locale.ROOT);
        if (!s.equals("ddim") && !s.equals("ddpm")) {
            throw new ParameterException(spec.commandLine(), "--scheduler '" + scheduler + "': use ddim or ddpm");
        }
        String d = device.trim().toLowerCase(java.util.Locale.ROOT);
        if (!List.of("auto", "cpu", "gpu", "cuda").contains(d)) {
            throw new ParameterException(spec.commandLine(), "--device '" + device + "' is not a device: use auto, cpu or gpu");
        }
        Path folder = KitModels.resolve(model, "--model");
        try (NDManager manager = NDManager.newBaseManager(DeviceChoice.decide(d, null, Engine.getInstance().getGpuCount()).device());
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
            System.out.printf(java.util.Locale.ROOT, "wrote %s: %d images, %d %s steps, %.1f s%n", output, numImages, steps,
                    s.toUpperCase(java.util.Locale.ROOT), (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }
}
