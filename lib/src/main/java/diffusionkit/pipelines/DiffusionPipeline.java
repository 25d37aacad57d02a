package diffusionkit.pipelines;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;
import diffusionkit.io.ModelFolder;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.models.NoisePredictor;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.schedulers.SchedulerConfig;
import diffusionkit.schedulers.SchedulerOutput;
import diffusionkit.util.Autograd;
import diffusionkit.util.DeviceChoice;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * A (noise model, scheduler) pair and <em>the</em> loop that turns noise into images, as diffusers' pipelines'
 * {@code __call__}:
 * <pre>
 *   x ~ N(0, I)
 *   for i, t in enumerate(scheduler.timesteps):
 *       ε, x = guide(step(i, t), x)                 # plain: ε = unet(x, t, labels)
 *       x = scheduler.step(ε, t, x).prevSample
 *       callback(i, t, x, x̂_0)
 * </pre>
 * Every sampler of the kit is this loop ({@link #generate(Sampling)}) with a {@link NoiseGuide}: the plain model,
 * classifier-free guidance ({@link NoiseGuide#classifierFree}), the course's loss guidance
 * ({@code guidance.GuidedSampler}); the model is any {@link NoisePredictor} (a diffusers UNet, with or without
 * {@code num_class_embeds}, or the course's class-conditioned wrapper).
 * {@link #fromPretrained(Path)} reads a pipeline folder ({@code model_index.json}, {@code unet/},
 * {@code scheduler/}) or a bare UNet folder; {@link #savePretrained(Path)} writes the diffusers layout, which
 * Python's {@code DDPMPipeline.from_pretrained} loads unchanged.
 */
public class DiffusionPipeline implements AutoCloseable {

    /** The diffusers version the written files claim compatibility with. */
    public static final String DIFFUSERS_VERSION = JsonConfig.DIFFUSERS_VERSION;
    /** The pipeline index file. */
    public static final String MODEL_INDEX = "model_index.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private final NoisePredictor unet;
    private Scheduler scheduler;

    /** A pipeline of a noise model (diffusers calls it {@code unet}) and {@code scheduler}. */
    public DiffusionPipeline(NoisePredictor unet, Scheduler scheduler) {
        this.unet = unet;
        this.scheduler = scheduler;
    }

    /** Loads a pipeline folder or a bare UNet folder, on {@link DeviceChoice#device()}. */
    public static DiffusionPipeline fromPretrained(Path folder) throws IOException {
        return fromPretrained(folder, null);
    }

    /**
     * Loads a pipeline by hub id ({@code "google/ddpm-celebahq-256"}, optionally {@code @revision}), kit model name
     * ({@code "emoji-base"}) or folder path, as diffusers' {@code from_pretrained}: a hub id is fetched into the Hugging
     * Face cache shared with Python (only the files a pipeline needs), or read from it offline; see {@link Pretrained}.
     *
     * @param manager parameters live under it; null for a new manager on the kit's device
     */
    public static DiffusionPipeline fromPretrained(String idOrPath, NDManager manager) throws IOException {
        return fromPretrained(Pretrained.pipeline(idOrPath), manager);
    }

    /**
     * Loads a pipeline folder ({@code model_index.json} + {@code unet/} + {@code scheduler/}, as
     * {@code save_pretrained} writes and the hub's google/ddpm-* repositories hold) or a bare UNet folder
     * ({@code config.json} + weights). A bare folder gets the {@code scheduler_config.json} beside it when there is
     * one, else diffusers' default {@code DDPMScheduler} (1000 steps, linear betas 1e-4 to 0.02). A folder of the
     * course's class-conditioned model ({@code class_conditioned.json}, as the trainer writes it) is that model and
     * its {@code scheduler/}.
     *
     * @param manager parameters live under it; null for a new manager on the kit's device
     */
    public static DiffusionPipeline fromPretrained(Path folder, NDManager manager) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new CheckpointException(folder + " is not a folder: give a diffusers pipeline folder (model_index.json, "
                    + "unet/, scheduler/) or a UNet folder (config.json + diffusion_pytorch_model.safetensors).");
        }
        if (Files.isRegularFile(folder.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            Path schedulerDir = folder.resolve("scheduler");
            Scheduler scheduler = Files.isRegularFile(schedulerDir.resolve(SchedulerConfig.FILE_NAME))
                    ? Scheduler.load(schedulerDir) : ClassConditionedUNet.courseScheduler();
            return new DiffusionPipeline(ClassConditionedUNet.fromPretrained(folder, manager), scheduler);
        }
        Path unetDir = folder;
        Path schedulerDir = folder;
        if (Files.isRegularFile(folder.resolve(MODEL_INDEX)) || Files.isDirectory(folder.resolve("unet"))) {
            unetDir = folder.resolve("unet");
            schedulerDir = folder.resolve("scheduler");
            if (!Files.isDirectory(unetDir)) {
                throw new CheckpointException(folder + " has " + MODEL_INDEX + " but no unet/ folder: the pipeline is "
                        + "incomplete. Download or save it again.");
            }
        } else if (!Files.isRegularFile(folder.resolve(UNet2DConfig.CONFIG_NAME))) {
            throw new CheckpointException(folder + " is neither a pipeline folder (no " + MODEL_INDEX + ", no unet/) nor "
                    + "a UNet folder (no config.json).");
        }
        Scheduler scheduler = Files.isRegularFile(schedulerDir.resolve(SchedulerConfig.FILE_NAME))
                ? Scheduler.load(schedulerDir) : new DDPMScheduler();
        UNet2DModel unet = UNet2DModel.fromPretrained(unetDir, manager);
        return new DiffusionPipeline(unet, scheduler);
    }

    /**
     * Writes the pipeline in the diffusers layout, atomically: {@code model_index.json},
     * {@code unet/config.json}, {@code unet/diffusion_pytorch_model.safetensors},
     * {@code scheduler/scheduler_config.json}. Other files already in the folder (a model card) are kept.
     */
    public void savePretrained(Path folder) throws IOException {
        savePretrained(folder, unet, scheduler);
    }

    /**
     * Writes {@code model} and {@code scheduler} as a pipeline folder, atomically: a {@link UNet2DModel} in the
     * diffusers layout (as {@link #savePretrained(Path)}); another model in its own {@link NoisePredictor#savePretrained}
     * layout at the top of the folder (a ClassConditionedUNet's {@code class_conditioned.json}, ...), with
     * {@code scheduler/} beside it. Other files already in the folder are kept. {@link #modelFolder} finds the model
     * part again.
     */
    public static void savePretrained(Path folder, NoisePredictor model, Scheduler scheduler) throws IOException {
        ModelFolder.write(folder, Set.of("unet", "scheduler", MODEL_INDEX), tmp -> {
            model.savePretrained(modelFolder(tmp, model));
            scheduler.save(tmp.resolve("scheduler"));
            if (model instanceof UNet2DModel) {
                JsonObject index = new JsonObject();
                index.addProperty("_class_name", scheduler instanceof DDIMScheduler ? "DDIMPipeline" : "DDPMPipeline");
                index.addProperty("_diffusers_version", DIFFUSERS_VERSION);
                index.add("scheduler", pair("diffusers", scheduler.config().className()));
                index.add("unet", pair("diffusers", "UNet2DModel"));
                Files.writeString(tmp.resolve(MODEL_INDEX), GSON.toJson(index) + "\n");
            }
        });
    }

    /** Where {@link #savePretrained(Path, NoisePredictor, Scheduler)} puts the model: {@code unet/} for a UNet2DModel. */
    public static Path modelFolder(Path pipelineFolder, NoisePredictor model) {
        return model instanceof UNet2DModel ? pipelineFolder.resolve("unet") : pipelineFolder;
    }

    /** The pipeline class named in a folder's {@code model_index.json}, or null. */
    public static String pipelineClass(Path folder) throws IOException {
        Path f = folder.resolve(MODEL_INDEX);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        return JsonParser.parseString(Files.readString(f)).getAsJsonObject().get("_class_name").getAsString();
    }

    private static JsonArray pair(String a, String b) {
        JsonArray arr = new JsonArray();
        arr.add(a);
        arr.add(b);
        return arr;
    }

    /** The noise model (diffusers' {@code pipeline.unet}). */
    public NoisePredictor unet() {
        return unet;
    }

    /** The scheduler used by {@link #generate}. */
    public Scheduler scheduler() {
        return scheduler;
    }

    /** Replaces the scheduler (e.g. {@code new DDIMScheduler(pipeline.scheduler().config())}). */
    public void setScheduler(Scheduler s) {
        this.scheduler = s;
    }

    /** A DDIM scheduler built from this pipeline's scheduler config, as {@code DDIMScheduler.from_config(...)}. */
    public DDIMScheduler ddimScheduler() {
        return new DDIMScheduler(scheduler.config());
    }

    /** The image shape the model denoises: [batch, channels, height, width] ({@link NoisePredictor#sampleShape()}). */
    public Shape sampleShape(int batchSize) {
        Shape one = unet.sampleShape();
        if (one == null) {
            throw new IllegalStateException("the model does not say its image size (a UNet config.json without "
                    + "sample_size): add \"sample_size\": <pixels> to it, or pass Sampling.optImageShape(c, h, w)");
        }
        return new Shape(batchSize, one.get(0), one.get(1), one.get(2));
    }

    /**
     * Samples with the pipeline's scheduler, as diffusers' {@code DDPMPipeline.__call__}: {@code numInferenceSteps}
     * steps (1000 for the full ancestral chain), seeded.
     */
    public PipelineOutput generate(int batchSize, int numInferenceSteps, long seed) {
        return generate(batchSize, numInferenceSteps, seed, null, null);
    }

    /**
     * Samples with the pipeline's scheduler.
     *
     * @param classLabels int64 [batch] for a class-conditioned model, else null
     * @param callback called after each step, or null
     */
    public PipelineOutput generate(int batchSize, int numInferenceSteps, long seed, NDArray classLabels, StepCallback callback) {
        return generate(Sampling.builder().optBatchSize(batchSize).optSteps(numInferenceSteps).optSeed(seed)
                .optLabels(classLabels).optCallback(callback).build());
    }

    /**
     * Samples with DDIM (Song et al. 2021), as the course's faster sampler: {@code numInferenceSteps} steps,
     * {@code eta} 0 for the deterministic sampler.
     */
    public PipelineOutput generateDdim(int batchSize, int numInferenceSteps, float eta, long seed, NDArray classLabels,
            StepCallback callback) {
        return generate(Sampling.builder().optScheduler(ddimScheduler()).optBatchSize(batchSize)
                .optSteps(numInferenceSteps).optEta(eta).optSeed(seed).optLabels(classLabels).optCallback(callback)
                .build());
    }

    /** {@link #generateDdim} with eta 0, no labels, no callback. */
    public PipelineOutput generateDdim(int batchSize, int numInferenceSteps, long seed) {
        return generateDdim(batchSize, numInferenceSteps, 0f, seed, null, null);
    }

    /**
     * The denoising loop (the class comment's). The starting noise and the scheduler's per-step noise come from
     * one {@link SeededNoise} of the seed; each step's arrays live in their own scope, freed when the step ends; the
     * samples live in a manager of their own, which the returned output owns. No autograd graph is recorded, on any
     * thread (a guide may open its own gradient collector).
     */
    public PipelineOutput generate(Sampling sampling) {
        Sampling.Builder args = sampling.settings;
        Scheduler s = args.scheduler != null ? args.scheduler : scheduler;
        SeededNoise generator = new SeededNoise(args.seed);
        s.setTimesteps(args.steps);
        NDManager run = (args.manager != null ? args.manager : unet.manager()).newSubManager();
        try {
            NDArray x;
            if (args.noise != null) {
                ai.djl.Device device = unet.manager().getDevice();
                x = args.noise.getDevice().equals(device) ? args.noise.duplicate() : args.noise.toDevice(device, true);
                x.attach(run);
            } else {
                Shape shape = args.imageShape != null
                        ? new Shape(args.batchSize, args.imageShape.get(0), args.imageShape.get(1), args.imageShape.get(2))
                        : sampleShape(args.batchSize);
                x = generator.randn(run, shape);
            }
            NDArray labels = labels(args.labels, x.getShape().get(0), run);
            NDArray start = x;
            return Autograd.noGrad(() -> loop(start, s, labels, args, generator));
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
    }

    private NDArray labels(long[] labels, long batch, NDManager run) {
        if (unet.numClasses() > 0 && labels == null) {
            throw new IllegalArgumentException("this model is class-conditioned (" + unet.numClasses() + " classes): "
                    + "pass one class label per image, e.g. Sampling.optLabels(0, 1, 2)");
        }
        if (labels == null) {
            return null;
        }
        if (unet.numClasses() == 0) {
            throw new IllegalArgumentException("class labels were given, but this model is unconditional: drop them");
        }
        if (labels.length != batch) {
            throw new IllegalArgumentException(labels.length + " class labels for " + batch + " images: give one per image");
        }
        return run.create(labels);
    }

    private PipelineOutput loop(NDArray x, Scheduler s, NDArray labels, Sampling.Builder args, SeededNoise generator) {
        NDManager run = x.getManager();
        long[] timesteps = s.timesteps();
        for (int i = 0; i < timesteps.length; i++) {
            long t = timesteps[i];
            try (NDManager step = run.newSubManager()) {
                x.attach(step);
                NoiseGuide.Prediction p = args.guide.predict(new DenoisingStep(i, t, timesteps.length, unet, s, labels), x);
                SchedulerOutput out = s instanceof DDIMScheduler d
                        ? d.step(p.noisePred(), t, p.sample(), args.eta, args.guide.useClippedModelOutput(), generator, null)
                        : s.step(p.noisePred(), t, p.sample(), generator);
                NDArray next = out.prevSample();
                if (args.callback != null) {
                    args.callback.onStep(i, t, next, out.predOriginalSample());
                }
                next.attach(run);
                x = next;
            }
        }
        if (labels != null) {
            labels.close();
        }
        return PipelineOutput.of(x);
    }

    /** Frees the UNet's parameters. */
    @Override
    public void close() {
        unet.close();
    }
}
