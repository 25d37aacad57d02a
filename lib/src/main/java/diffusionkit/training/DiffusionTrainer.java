package diffusionkit.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import diffusionkit.data.ImageDataset;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import diffusionkit.models.NoisePredictor;
import diffusionkit.models.UNet2DModel;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.PipelineOutput;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.util.AtomicFiles;
import diffusionkit.util.NonFiniteException;
import diffusionkit.util.Scalars;
import diffusionkit.util.SeededNoise;
import diffusionkit.viz.ImageGrid;
import tech.tablesaw.api.Table;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * Noise-prediction training of a {@link NoisePredictor} (Ho et al. 2020, Algorithm 1), as the course's
 * {@code finetune_model.py} and its class-conditioning notebook: for each batch of clean images x₀, draw noise
 * ε ~ N(0, I) and timesteps t ~ U{0, …, T−1}, make {@code x_t = scheduler.addNoise(x₀, ε, t)}, predict
 * {@code ε̂ = model(x_t, t, y)} and minimise {@code loss = mean((ε̂ − ε)²)} (PyTorch's {@code F.mse_loss}; not DJL's
 * {@code L2Loss}, which is half of it) with {@link AdamW}; the learning rate is multiplied by γ after each epoch
 * ({@link ExponentialLR}).
 *
 * <h2>Class labels</h2>
 * A class-conditional model ({@link NoisePredictor#numClasses()} {@code > 0}, e.g. the course's
 * {@code ClassConditionedUNet}) gets each batch's labels y; the data set must have them. With
 * {@link TrainingConfig#labelDropout()} p, each label becomes the model's null class with probability p
 * (classifier-free guidance training, Ho and Salimans 2022). The course's loop, line by line, is the preset
 * {@link TrainingConfig#conditionalCourse()}:
 * <pre>
 * for epoch in range(n_epochs):                       # 10
 *     for x, y in train_dataloader:                   # batch 128, shuffled
 *         noise = torch.randn_like(x)
 *         timesteps = torch.randint(0, 999, (bs,))    # timestepBound 999: t = 999 is never trained
 *         noisy_x = noise_scheduler.add_noise(x, noise, timesteps)
 *         loss = MSELoss(net(noisy_x, timesteps, y), noise)
 *         opt.zero_grad(); loss.backward(); opt.step()   # Adam(lr=1e-3) = AdamW with weight decay 0
 *     print(f'Finished epoch {epoch}. Average of the last 100 loss values: {avg:05f}')   # EpochLossPrinter
 * </pre>
 *
 * <h2>Gradient accumulation</h2>
 * An update (a <em>step</em>) uses {@code k = gradAccumulationSteps} micro-batches (fewer at the end of an epoch,
 * where the leftover micro-batches make one last, smaller update).
 * <ul>
 *   <li>Averaged (default): each micro-batch back-propagates {@code loss_i / k}, so the update follows the gradient
 *   of the mean loss {@code (1/k) Σ ∇loss_i}: k micro-batches of b images equal one batch of k·b images.</li>
 *   <li>{@link TrainingConfig#summedAccumulation()}: the course notebook's {@code loss.backward(loss)}. Passing the
 *   loss as {@code grad_output} multiplies the gradient by the loss value: each micro-batch contributes
 *   {@code loss_i · ∇loss_i = ∇(loss_i² / 2)}, and these are summed, not averaged, over the k micro-batches. Large
 *   losses therefore take larger steps (AdamW's normalisation hides most of the scale). Here it is computed as the
 *   gradient of {@code loss · stopGradient(loss)}.</li>
 * </ul>
 *
 * <h2>Randomness</h2>
 * Everything is seeded by {@link TrainingConfig#seed()}: each epoch's data order
 * ({@link ImageDataset#batches(int, long, int)}), each batch's flips (from the seed, epoch and batch index), and one
 * {@link SeededNoise} that draws, image by image, its timestep, then its noise, then (with label dropout) whether its
 * label is dropped (so a batch of k·b images draws the same numbers as k batches of b). Its state goes into each
 * checkpoint, so {@link #resume(Path)} continues the identical sequence: the next loss equals that of an
 * uninterrupted run.
 *
 * <h2>Outputs</h2>
 * In {@link TrainingConfig#logDir()}: {@code loss.csv}, {@code loss.png} and {@code summary.json} ({@link LossTable}),
 * {@code samples/step_<n>.png} (DDIM sample grids, for a
 * {@link UNet2DModel}) and {@code checkpoints/checkpoint-<step>/} (see {@link Checkpoints}). The final pipeline goes
 * to {@link TrainingConfig#outputDir()} (with EMA on, the EMA weights, as diffusers' training scripts do).
 *
 * <p>Each micro-batch's arrays live in their own {@link NDManager} scope, so memory stays flat over a run.
 */
public final class DiffusionTrainer {

    private final NoisePredictor model;
    private final Scheduler scheduler;
    private final ImageDataset data;
    private final TrainingConfig config;
    private final boolean conditional;
    private final long timestepBound;
    private final AdamW optimizer;
    private final ExponentialLR lrSchedule;
    private final Ema ema;
    private final SeededNoise rng;
    private final LossTable lossTable;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private AtomicFiles.FolderWriter checkpointExtras;

    private long globalStep;
    private int epoch;
    private int batchInEpoch;
    private double epochLossSum;
    private long epochSteps;
    private double secondsBefore;
    private long runStartNanos; // 0 outside train()

    /**
     * A trainer; the optimiser starts from scratch (see {@link #resume(Path)}). With a log folder, its
     * {@link LossTable} writes its files there; with {@link TrainingConfig#progressBar()}, a {@link ProgressBar} draws
     * on stderr.
     *
     * @param model the model to train (its parameters are updated in place)
     * @param scheduler the noise schedule of {@code addNoise} (and of the sample grids)
     * @param data the training images, already preprocessed to the model's size and channels
     * @param config the settings
     * @throws IllegalArgumentException when the settings and inputs do not fit together (the message says how)
     */
    public DiffusionTrainer(NoisePredictor model, Scheduler scheduler, ImageDataset data, TrainingConfig config) {
        this.model = model;
        this.scheduler = scheduler;
        this.data = data;
        this.config = config;
        this.conditional = model.numClasses() > 0;
        if (data.length() == 0) {
            throw new IllegalArgumentException("dataset '" + data.name() + "' is empty: check --dataset_name, --classes and --limit");
        }
        if (conditional && !data.isLabelled()) {
            throw new IllegalArgumentException("the model is class-conditional (" + model.numClasses() + " classes) and "
                    + "needs class labels, but dataset '" + data.name() + "' has none: use a labelled dataset (mnist, "
                    + "fashion-mnist-train) or an unconditional model");
        }
        if (config.labelDropout() > 0 && !conditional) {
            throw new IllegalArgumentException("labelDropout " + config.labelDropout() + " drops class labels, but the "
                    + "model takes none: set it to 0, or train a class-conditional model");
        }
        if (config.labelDropout() > 0 && !model.hasNullClass()) {
            throw new IllegalArgumentException("labelDropout " + config.labelDropout() + " needs a model with a null class"
                    + " to drop labels to: build it with ClassConditionedUNet.builder().optNullClass(true), or set "
                    + "labelDropout to 0");
        }
        int numTrain = scheduler.numTrainTimesteps();
        if (config.timestepBound() > numTrain) {
            throw new IllegalArgumentException("timestepBound " + config.timestepBound() + " is above the scheduler's "
                    + numTrain + " training timesteps: use at most " + numTrain + " (0: all)");
        }
        this.timestepBound = config.timestepBound() > 0 ? config.timestepBound() : numTrain;
        if (config.saveModelEvery() > 0 && config.logDir() == null) {
            throw new IllegalArgumentException("saveModelEvery needs a logDir to write checkpoints into: set optLogDir(...)");
        }
        this.optimizer = AdamW.builder().optLearningRate(config.learningRate()).optWeightDecay(config.weightDecay())
                .optBetas(config.beta1(), config.beta2()).optEps(config.eps()).optDevice(model.manager().getDevice()).build();
        this.lrSchedule = new ExponentialLR(optimizer, config.lrGamma());
        this.ema = config.emaDecay() > 0 ? new Ema(model.stateDict(), config.emaDecay()) : null;
        this.rng = new SeededNoise(config.seed());
        this.lossTable = new LossTable(config.logDir(), this::elapsedSeconds);
        listeners.add(lossTable);
        if (config.progressBar()) {
            listeners.add(new ProgressBar(System.err, totalSteps(), 0));
        }
    }

    /** Adds a listener (progress bars, live plots, the course's epoch line). */
    public DiffusionTrainer addListener(TrainingListener listener) {
        listeners.add(listener);
        return this;
    }

    /**
     * Something that writes extra files into each checkpoint folder before it is renamed into place (a model card,
     * a note). An exception from it aborts that checkpoint and leaves the earlier ones untouched.
     */
    public DiffusionTrainer optCheckpointExtras(AtomicFiles.FolderWriter writer) {
        this.checkpointExtras = writer;
        return this;
    }

    /** The optimiser. */
    public AdamW optimizer() {
        return optimizer;
    }

    /** The EMA of the weights, or null when EMA is off. */
    public Ema ema() {
        return ema;
    }

    /** Updates done so far (including those before a resume). */
    public long globalStep() {
        return globalStep;
    }

    /** The epoch in progress (0-based; {@code numEpochs} when all are done). */
    public int epoch() {
        return epoch;
    }

    /** Micro-batches per epoch. */
    public int batchesPerEpoch() {
        return (data.length() + config.batchSize() - 1) / config.batchSize();
    }

    /** Updates per epoch: ⌈batches / gradAccumulationSteps⌉. */
    public int stepsPerEpoch() {
        return (batchesPerEpoch() + config.gradAccumulationSteps() - 1) / config.gradAccumulationSteps();
    }

    /** The step the run ends at: all epochs, or {@code maxSteps} when smaller. */
    public long totalSteps() {
        long all = (long) stepsPerEpoch() * config.numEpochs();
        return config.maxSteps() > 0 ? Math.min(all, config.maxSteps()) : all;
    }

    /** Wall-clock seconds of training over the whole run (those before a resume included). */
    public double elapsedSeconds() {
        return secondsBefore + (runStartNanos == 0 ? 0 : (System.nanoTime() - runStartNanos) / 1e9);
    }

    /** The loss table so far: step, epoch, loss, lr, seconds (one row per update; restored on resume). */
    public Table lossTable() {
        return lossTable.table();
    }

    /** Every update's loss so far, in order (those before a resume included). */
    public List<Double> losses() {
        return lossTable.losses();
    }

    // ------------------------------------------------------------------ training

    /**
     * Trains to the end of the last epoch (or {@code maxSteps}, or {@code stopAtMillis}), from where the trainer
     * stands (step 0, or the resumed checkpoint), writing logs, samples, checkpoints and the final model as
     * configured.
     *
     * @return what happened
     */
    public TrainingSummary train() throws IOException {
        runStartNanos = System.nanoTime();
        long startStep = globalStep;
        List<Double> runLosses = new ArrayList<>();
        double lastEpochMean = Double.NaN;
        tell(l -> l.onTrainStart(this));
        outer:
        for (; epoch < config.numEpochs(); epoch++) {
            lrSchedule.setEpoch(epoch);
            List<int[]> batches = new ArrayList<>();
            data.batches(config.batchSize(), config.seed(), epoch).forEach(batches::add);
            while (batchInEpoch < batches.size()) {
                if ((config.maxSteps() > 0 && globalStep >= config.maxSteps())
                        || (config.stopAtMillis() > 0 && System.currentTimeMillis() >= config.stopAtMillis())) {
                    break outer;
                }
                double lr = optimizer.learningRate();
                double loss;
                try {
                    loss = step(batches.subList(batchInEpoch,
                            Math.min(batches.size(), batchInEpoch + config.gradAccumulationSteps())));
                } catch (NonFiniteException e) {
                    tell(l -> l.onTrainError(e)); // e.g. the loss table up to the last good step
                    secondsBefore = elapsedSeconds();
                    runStartNanos = 0;
                    throw e;
                }
                runLosses.add(loss);
                epochLossSum += loss;
                epochSteps++;
                tell(l -> l.onStep(globalStep, epoch, loss, lr));
                if (config.logSamplesEvery() > 0 && globalStep % config.logSamplesEvery() == 0) {
                    logSamples();
                }
                if (config.saveModelEvery() > 0 && globalStep % config.saveModelEvery() == 0) {
                    saveCheckpoint();
                }
            }
            double mean = epochLossSum / Math.max(1, epochSteps);
            tell(l -> l.onEpochEnd(epoch, mean));
            lastEpochMean = mean;
            epochLossSum = 0;
            epochSteps = 0;
            batchInEpoch = 0;
        }
        if (epochSteps > 0) { // stopped by maxSteps inside an epoch
            lastEpochMean = epochLossSum / epochSteps;
        }
        double seconds = (System.nanoTime() - runStartNanos) / 1e9;
        secondsBefore += seconds;
        runStartNanos = 0;
        if (config.outputDir() != null) {
            saveFinalModel(config.outputDir());
        }
        TrainingSummary summary = new TrainingSummary(globalStep, globalStep - startStep, epoch, stepsPerEpoch(), seconds, lastEpochMean,
                runLosses.isEmpty() ? Double.NaN : runLosses.get(runLosses.size() - 1), List.copyOf(runLosses),
                config.outputDir(), config.logDir());
        tell(l -> l.onTrainEnd(summary));
        return summary;
    }

    /**
     * One optimiser update over the given micro-batches (dataset indices), at the trainer's current epoch and
     * position: {@link #accumulate(List)}, then clipping, the AdamW step, zeroed gradients, the EMA update, and the
     * position advanced. Public so notebooks can drive the loop themselves.
     *
     * @return the mean of the micro-batches' MSE losses
     */
    public double step(List<int[]> microBatches) {
        double lr = optimizer.learningRate();
        double loss = accumulate(microBatches);
        Map<String, NDArray> params = model.stateDict();
        TrainingChecks.requireFinite("training", loss, params, globalStep + 1, epoch, lr, this::lastCheckpoint);
        if (config.maxGradNorm() > 0) {
            AdamW.clipGradNorm(params, config.maxGradNorm());
        }
        optimizer.step(params);
        AdamW.zeroGradients(params);
        if (ema != null) {
            ema.update(params);
        }
        batchInEpoch += microBatches.size();
        globalStep++;
        return loss;
    }

    /**
     * Forward and backward passes of the micro-batches, adding to the parameters' gradients without updating them
     * (averaged: each contributes ∇loss_i / k; summed: loss_i·∇loss_i). Draws noise and timesteps, so it advances
     * the generator; it does not advance the position.
     *
     * @return the mean of the micro-batches' MSE losses
     */
    public double accumulate(List<int[]> microBatches) {
        int k = microBatches.size();
        double sum = 0;
        for (int j = 0; j < k; j++) {
            sum += backward(microBatches.get(j), batchInEpoch + j, k);
        }
        return sum / k;
    }

    /**
     * A fixed yardstick: the mean MSE noise-prediction loss over every image of {@code images} (as preprocessed,
     * flips included), {@code repeats} times each, with timesteps (from all the scheduler's) and noise from
     * {@code new SeededNoise(seed)}, labels as they are (no dropout). No gradients; the trainer's own generator is
     * untouched. Equal seeds give equal draws, so two models can be compared on the same noisy images.
     */
    public double evaluationLoss(ImageDataset images, long seed, int repeats) {
        SeededNoise g = new SeededNoise(seed);
        int numTrain = scheduler.numTrainTimesteps();
        double sum = 0;
        long count = 0;
        for (int r = 0; r < repeats; r++) {
            for (int[] idx : images.batches(config.batchSize(), seed, r)) {
                try (NDManager sm = model.manager().newSubManager()) {
                    Noised in = noised(images.batch(sm, idx, seed + r), g, numTrain, 0, sm);
                    NDArray pred = model.forward(in.noisy(), in.timesteps(), in.labels(), false);
                    long n = in.noise().getShape().get(0);
                    sum += pred.sub(in.noise()).square().mean().getFloat() * n;
                    count += n;
                }
            }
        }
        return sum / count;
    }

    /** Forward and backward of one micro-batch; gradients add to those already there. Returns its MSE. */
    private double backward(int[] indices, int batchIndex, int group) {
        try (NDManager sm = model.manager().newSubManager()) {
            long flipSeed = config.seed() * 0x9E3779B97F4A7C15L + epoch * 1_000_003L + batchIndex;
            Noised in = noised(data.batch(sm, indices, flipSeed), rng, timestepBound, config.labelDropout(), sm);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray pred = model.forward(in.noisy(), in.timesteps(), in.labels(), true); // ε̂
                NDArray loss = pred.sub(in.noise()).square().mean(); // F.mse_loss(ε̂, ε)
                NDArray objective = config.summedAccumulation()
                        ? loss.mul(loss.duplicate().stopGradient()) // loss.backward(loss): ∇(loss²/2)
                        : Scalars.div(loss, group); // (loss / k).backward()
                gc.backward(objective);
                return loss.getFloat();
            }
        }
    }

    /** A batch made noisy: x_t, the noise ε, the timesteps t and the labels y (null for an unconditional model). */
    private record Noised(NDArray noisy, NDArray noise, NDArray timesteps, NDArray labels) {}

    /**
     * Draws from {@code g}, image by image, its timestep below {@code bound}, its noise and, with {@code labelDropout}
     * p, whether its label becomes the null class; then {@code x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε}.
     */
    private Noised noised(ImageDataset.Batch batch, SeededNoise g, long bound, double labelDropout, NDManager sm) {
        NDArray x0 = batch.images();
        Shape shape = x0.getShape();
        int n = (int) shape.get(0);
        int chw = (int) (shape.size() / n);
        long[] t = new long[n];
        float[] eps = new float[n * chw];
        long[] y = conditional ? batch.labels().toLongArray() : null;
        for (int i = 0; i < n; i++) {
            t[i] = g.nextLong(bound); // torch.randint(0, bound)
            System.arraycopy(g.randnFloats(chw), 0, eps, i * chw, chw); // torch.randn_like(x)
            if (labelDropout > 0 && g.nextDouble() < labelDropout) {
                y[i] = model.nullLabel(); // classifier-free guidance: learn the unconditional model too
            }
        }
        NDArray noise = sm.create(eps, shape);
        NDArray timesteps = sm.create(t);
        return new Noised(scheduler.addNoise(x0, noise, timesteps), noise, timesteps, conditional ? sm.create(y) : null);
    }

    // ------------------------------------------------------------------ samples, checkpoints

    /**
     * A grid of {@link TrainingConfig#numSampleImages()} images made with a {@link TrainingConfig#sampleSteps()}-step
     * DDIM (eta 0, seeded by the config's seed, so grids of different steps are comparable), or null when the model
     * is not a {@link UNet2DModel}. Conditional models get labels 0, 1, 2, ... (modulo the class count).
     */
    public BufferedImage sampleGrid() {
        if (!(model instanceof UNet2DModel unet)) {
            return null;
        }
        DiffusionPipeline pipe = new DiffusionPipeline(unet, scheduler); // not closed: it would free the model
        try (NDManager sm = model.manager().newSubManager()) {
            NDArray labels = conditional
                    ? sm.create(LongStream.range(0, config.numSampleImages()).map(i -> i % model.numClasses()).toArray())
                    : null;
            try (PipelineOutput out = pipe.generateDdim(config.numSampleImages(), config.sampleSteps(), 0f, config.seed(),
                    labels, null)) {
                return ImageGrid.show(out.images(), Math.min(8, config.numSampleImages())); // small images 2x
            }
        }
    }

    private void logSamples() throws IOException {
        BufferedImage grid = sampleGrid();
        if (grid == null) {
            return;
        }
        if (config.logDir() != null) {
            ImageGrid.savePng(grid, config.logDir().resolve("samples").resolve(String.format(Locale.ROOT, "step_%06d.png", globalStep)));
        }
        tell(l -> l.onSamples(globalStep, grid));
    }

    /** The newest checkpoint in the log folder, or null when there is none (or no log folder). */
    private Path lastCheckpoint() {
        try {
            return config.logDir() == null ? null : Checkpoints.find(config.logDir());
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Writes {@code checkpoints/checkpoint-<step>/} atomically (see {@link Checkpoints}: the pipeline folder, the
     * optimiser, the EMA, the loss table and the trainer state), then deletes all but the newest
     * {@link TrainingConfig#keepCheckpoints()}.
     *
     * @return the checkpoint folder
     */
    public Path saveCheckpoint() throws IOException {
        if (config.logDir() == null) {
            throw new IllegalStateException("no logDir to write checkpoints into: set TrainingConfig.optLogDir(...)");
        }
        Path target = Checkpoints.folder(config.logDir(), globalStep);
        double seconds = elapsedSeconds();
        TrainerState state = new TrainerState(globalStep, epoch, batchInEpoch, rng.state(), optimizer.learningRate(),
                epochLossSum, epochSteps, ema == null ? 0 : ema.steps(), config.toJson());
        AtomicFiles.writeFolder(target, tmp -> {
            DiffusionPipeline.savePretrained(tmp, model, scheduler);
            Map<String, NDArray> opt = optimizer.state();
            Safetensors.write(tmp.resolve(Checkpoints.OPTIMIZER_FILE), opt,
                    Map.of("global_step", Long.toString(globalStep), "format", "pt"));
            opt.get("step").close();
            if (ema != null) {
                Safetensors.write(tmp.resolve(Checkpoints.EMA_FILE), ema.weights(),
                        Map.of("ema_steps", Long.toString(ema.steps()), "format", "pt"));
            }
            lossTable.write(tmp.resolve(LossTable.FILE_NAME));
            Files.writeString(tmp.resolve("seconds.txt"), Double.toString(seconds) + "\n");
            Files.writeString(tmp.resolve(TrainerState.FILE_NAME), state.toJson());
            if (checkpointExtras != null) {
                checkpointExtras.write(tmp);
            }
        });
        Checkpoints.prune(config.logDir(), config.keepCheckpoints());
        tell(l -> l.onCheckpoint(globalStep, target));
        return target;
    }

    /**
     * Saves the pipeline to {@code folder} atomically ({@link DiffusionPipeline#savePretrained(Path, NoisePredictor,
     * Scheduler)}); with EMA on, the EMA weights are saved (the model keeps its own weights). Other files already in
     * the folder (a model card) are kept.
     */
    public void saveFinalModel(Path folder) throws IOException {
        if (ema == null) {
            DiffusionPipeline.savePretrained(folder, model, scheduler);
            return;
        }
        try (NDManager sm = NDManager.newBaseManager(model.manager().getDevice())) {
            Map<String, NDArray> raw = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : model.stateDict().entrySet()) {
                NDArray c = e.getValue().duplicate();
                c.attach(sm);
                raw.put(e.getKey(), c);
            }
            model.loadStateDict(ema.weights());
            try {
                DiffusionPipeline.savePretrained(folder, model, scheduler);
            } finally {
                model.loadStateDict(raw);
            }
        }
    }

    /** Calls every listener. */
    private void tell(ListenerCall call) throws IOException {
        for (TrainingListener l : listeners) {
            call.on(l);
        }
    }

    private interface ListenerCall {
        void on(TrainingListener listener) throws IOException;
    }

    // ------------------------------------------------------------------ resume

    /**
     * Continues from a checkpoint: the model's weights, AdamW's state, the EMA, the generator's state, the step
     * counter, the position in the epoch and the loss table up to that step. {@code path} is a checkpoint folder
     * or a log folder (its newest checkpoint is used). Batch size, accumulation and seed must equal the checkpoint's,
     * or the data order would differ; pass the other settings of the run too to continue it exactly.
     *
     * @return the state that was restored
     * @throws CheckpointException naming the folder and the fix when something is missing or does not fit
     */
    public TrainerState resume(Path path) throws IOException {
        Path cp = Checkpoints.resolve(path);
        TrainerState st = TrainerState.read(cp.resolve(TrainerState.FILE_NAME));
        JsonObject old = st.config();
        same(cp, old, "batchSize", config.batchSize(), "--batch_size");
        same(cp, old, "gradAccumulationSteps", config.gradAccumulationSteps(), "--grad_accumulation_steps");
        same(cp, old, "seed", config.seed(), "--seed");
        Path opt = cp.resolve(Checkpoints.OPTIMIZER_FILE);
        if (!Files.isRegularFile(opt)) {
            throw new CheckpointException(opt + " is missing: this checkpoint cannot resume training exactly."
                    + " Resume from another checkpoint, or start a new run from its weights (--start_model " + cp + ").");
        }
        Path e = cp.resolve(Checkpoints.EMA_FILE);
        if (ema != null && !Files.isRegularFile(e)) {
            throw new CheckpointException(e + " is missing: the checkpoint was written without EMA. Resume without EMA.");
        }
        model.loadPretrained(DiffusionPipeline.modelFolder(cp, model));
        try (NDManager sm = model.manager().newSubManager()) {
            optimizer.loadState(Safetensors.read(opt, sm));
            if (ema != null) {
                Map<String, NDArray> w = Safetensors.read(e, sm);
                for (Map.Entry<String, NDArray> en : ema.weights().entrySet()) {
                    NDArray src = w.get(en.getKey());
                    if (src == null) {
                        throw new CheckpointException(e + " has no '" + en.getKey() + "': it belongs to another model.");
                    }
                    diffusionkit.util.Tensors.copyInto(src, en.getValue());
                }
                ema.setSteps(st.emaSteps());
            }
        }
        rng.setState(st.rngState());
        globalStep = st.globalStep();
        epoch = st.epoch();
        batchInEpoch = st.batchInEpoch();
        epochLossSum = st.epochLossSum();
        epochSteps = st.epochSteps();
        optimizer.setLearningRate(st.learningRate());
        Path seconds = cp.resolve("seconds.txt");
        secondsBefore = Files.isRegularFile(seconds) ? Double.parseDouble(Files.readString(seconds).trim()) : 0;
        Path losses = cp.resolve(LossTable.FILE_NAME);
        if (!Files.isRegularFile(losses) && config.logDir() != null) {
            losses = config.logDir().resolve(LossTable.FILE_NAME); // a checkpoint written before it held its own
        }
        lossTable.restore(losses, globalStep);
        if (config.progressBar()) {
            listeners.removeIf(l -> l instanceof ProgressBar);
            listeners.add(new ProgressBar(System.err, totalSteps(), globalStep));
        }
        return st;
    }

    private static void same(Path cp, JsonObject old, String key, long now, String option) throws CheckpointException {
        if (old.has(key) && old.get(key).getAsLong() != now) {
            throw new CheckpointException("cannot resume from " + cp + ": it was trained with " + key + " "
                    + old.get(key).getAsLong() + ", this run asks for " + now + ". Pass " + option + " "
                    + old.get(key).getAsLong() + " to continue it exactly, or start a new run.");
        }
    }
}
