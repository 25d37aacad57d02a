package diffusionkit.pipelines;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDManager;
import diffusionkit.models.NoisePredictor;
import diffusionkit.schedulers.Scheduler;

import java.io.IOException;
import java.nio.file.Path;

/**
 * diffusers' {@code DDPMPipeline} under its own name: ancestral sampling with the pipeline's scheduler, 1000 steps
 * by default, as in the course's
 * <pre>
 *   image_pipe = DDPMPipeline.from_pretrained("google/ddpm-celebahq-256")
 *   images = image_pipe().images
 * </pre>
 * which reads here
 * <pre>
 *   var imagePipe = DDPMPipeline.fromPretrained(Path.of("ddpm-celebahq-256"));
 *   var images = imagePipe.call(1, 0).grid();
 * </pre>
 * Everything else ({@link #savePretrained}, {@link #generateDdim}, the step callback) is {@link DiffusionPipeline}'s.
 */
public class DDPMPipeline extends DiffusionPipeline {

    /** diffusers' default number of steps for this pipeline. */
    public static final int DEFAULT_STEPS = 1000;

    /** A pipeline of {@code unet} and {@code scheduler} (any scheduler, as in diffusers). */
    public DDPMPipeline(NoisePredictor unet, Scheduler scheduler) {
        super(unet, scheduler);
    }

    /** Loads a pipeline folder or a bare UNet folder, as {@link DiffusionPipeline#fromPretrained(Path)}. */
    public static DDPMPipeline fromPretrained(Path folder) throws IOException {
        return fromPretrained(folder, null);
    }

    /**
     * Loads a model by hub id ({@code "google/ddpm-celebahq-256"}, optionally {@code @revision}), kit model name
     * ({@code "emoji-base"}) or folder path: {@code DDPMPipeline.from_pretrained(...)}. A hub id is fetched into the
     * Hugging Face cache (shared with Python), or read from it offline: see {@link Pretrained}.
     */
    public static DDPMPipeline fromPretrained(String idOrPath) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), null);
    }

    /** {@link #fromPretrained(String)}, parameters under {@code manager} (null: a new one). */
    public static DDPMPipeline fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), manager);
    }

    /** Loads a pipeline folder or a bare UNet folder, parameters under {@code manager} (null: a new one). */
    public static DDPMPipeline fromPretrained(Path folder, NDManager manager) throws IOException {
        DiffusionPipeline p = DiffusionPipeline.fromPretrained(folder, manager);
        return new DDPMPipeline(p.unet(), p.scheduler());
    }

    /** {@code pipeline(batch_size, generator)}: the full chain of {@value #DEFAULT_STEPS} steps, seeded. */
    public PipelineOutput call(int batchSize, long seed) {
        return generate(batchSize, DEFAULT_STEPS, seed);
    }

    /** {@code pipeline(batch_size, generator, num_inference_steps)}. */
    public PipelineOutput call(int batchSize, int numInferenceSteps, long seed) {
        return generate(batchSize, numInferenceSteps, seed);
    }
}
