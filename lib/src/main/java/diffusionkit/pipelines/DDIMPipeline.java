package diffusionkit.pipelines;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDManager;
import diffusionkit.models.NoisePredictor;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.Scheduler;

import java.io.IOException;
import java.nio.file.Path;

/**
 * diffusers' {@code DDIMPipeline} under its own name: the scheduler it is given becomes a {@link DDIMScheduler} with
 * the same config ({@code DDIMScheduler.from_config(scheduler.config)}, as diffusers' constructor does), and
 * {@link #call} samples with 50 deterministic steps by default ({@code eta} 0). Its
 * {@link #savePretrained} writes {@code "_class_name": "DDIMPipeline"}.
 */
public class DDIMPipeline extends DiffusionPipeline {

    /** diffusers' default number of steps for this pipeline. */
    public static final int DEFAULT_STEPS = 50;

    /** A pipeline of {@code unet} and a DDIM scheduler made from {@code scheduler}'s config. */
    public DDIMPipeline(NoisePredictor unet, Scheduler scheduler) {
        super(unet, scheduler instanceof DDIMScheduler d ? d : new DDIMScheduler(scheduler.config()));
    }

    /** Loads a pipeline folder or a bare UNet folder, as {@link DiffusionPipeline#fromPretrained(Path)}. */
    public static DDIMPipeline fromPretrained(Path folder) throws IOException {
        return fromPretrained(folder, null);
    }

    /**
     * Loads a model by hub id ({@code "google/ddpm-celebahq-256"}, optionally {@code @revision}), kit model name
     * ({@code "emoji-base"}) or folder path: {@code DDIMPipeline.from_pretrained(...)}. A hub id is fetched into the
     * Hugging Face cache (shared with Python), or read from it offline: see {@link Pretrained}.
     */
    public static DDIMPipeline fromPretrained(String idOrPath) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), null);
    }

    /** {@link #fromPretrained(String)}, parameters under {@code manager} (null: a new one). */
    public static DDIMPipeline fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), manager);
    }

    /** Loads a pipeline folder or a bare UNet folder, parameters under {@code manager} (null: a new one). */
    public static DDIMPipeline fromPretrained(Path folder, NDManager manager) throws IOException {
        DiffusionPipeline p = DiffusionPipeline.fromPretrained(folder, manager);
        return new DDIMPipeline(p.unet(), p.scheduler());
    }

    /** Keeps the pipeline a DDIM one: any scheduler given is converted as in the constructor. */
    @Override
    public void setScheduler(Scheduler s) {
        super.setScheduler(s instanceof DDIMScheduler d ? d : new DDIMScheduler(s.config()));
    }

    /** {@code pipeline(batch_size, generator)}: {@value #DEFAULT_STEPS} steps, eta 0, seeded. */
    public PipelineOutput call(int batchSize, long seed) {
        return call(batchSize, DEFAULT_STEPS, 0f, seed, null);
    }

    /**
     * {@code pipeline(batch_size, generator, eta, num_inference_steps)} with a per-step callback (null for none)
     * that sees the step index, the timestep, the current x and the predicted x0.
     */
    public PipelineOutput call(int batchSize, int numInferenceSteps, float eta, long seed, StepCallback callback) {
        return generateDdim(batchSize, numInferenceSteps, eta, seed, null, callback);
    }
}
