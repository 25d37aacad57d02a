package diffusionkit.conditional;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.data.ImageDataset;
import diffusionkit.io.CheckpointException;
import diffusionkit.io.Safetensors;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.schedulers.SchedulerConfig;
import diffusionkit.training.AdamW;
import diffusionkit.training.Ema;
import diffusionkit.training.TrainingChecks;
import diffusionkit.util.AtomicFiles;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The course's training loop for {@link ClassConditionedUNet} (Unit 2, notebook 2), line by line:
 * <pre>
 * for epoch in range(n_epochs):                       # 10 in the course
 *     for x, y in train_dataloader:                   # batch 128, shuffled
 *         x = x * 2 - 1                               # [0, 1] -> [-1, 1] (ImageDataset gives [-1, 1] already)
 *         noise = torch.randn_like(x)
 *         timesteps = torch.randint(0, 999, (bs,))    # NB: 0..998, the course never trains t = 999
 *         noisy_x = noise_scheduler.add_noise(x, noise, timesteps)
 *         pred = net(noisy_x, timesteps, y)
 *         loss = MSELoss(pred, noise)
 *         opt.zero_grad(); loss.backward(); opt.step()   # Adam(lr=1e-3) = AdamW with weight decay 0
 *     print(f'Finished epoch {epoch}. Average of the last 100 loss values: {avg:05f}')
 * </pre>
 * The course's quirk {@code randint(0, 999)} (upper bound exclusive, so t = 999 is never drawn) is kept.
 *
 * <p>Beyond the course: {@link Options#labelDropout()} replaces each label by the model's null class with that
 * probability (classifier-free guidance training, Ho and Salimans 2022); 0 is the course.
 *
 * <p>Randomness: batch order from {@link ImageDataset#batches(int, long, int)} (seeded per epoch), noise,
 * timesteps and label dropout from one {@link SeededNoise}. A checkpoint ({@link #saveCheckpoint(Path)}) holds the
 * model, {@code scheduler/}, {@code optimizer.safetensors} (AdamW moments) and {@code training_state.json} (step,
 * epoch, position in the epoch, generator state, loss history), and {@link #resume} continues the same run.
 * A model folder without {@code optimizer.safetensors} (e.g. the shipped one) resumes with fresh Adam moments.
 */
public final class ConditionalTrainer {

    /** Optimiser state file in a checkpoint folder. */
    public static final String OPTIMIZER_NAME = "optimizer.safetensors";
    /** Training state file in a checkpoint folder. */
    public static final String STATE_NAME = "training_state.json";
    /** Sub-folder of a checkpoint with the EMA weights, itself a model folder ({@link ClassConditionedUNet#fromPretrained}). */
    public static final String EMA_FOLDER = "ema";
    /** Scheduler sub-folder. */
    public static final String SCHEDULER_FOLDER = "scheduler";
    /** The course draws timesteps with {@code torch.randint(0, 999)}: 0..998. */
    public static final long COURSE_TIMESTEP_BOUND = 999;

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /**
     * Training settings.
     *
     * @param batchSize batch size (course: 128)
     * @param epochs number of epochs (course: 10)
     * @param learningRate Adam learning rate (course: 1e-3)
     * @param labelDropout probability of replacing a label by the null class (course: 0; CFG: e.g. 0.1)
     * @param seed seed of the batch order and the noise
     * @param maxSteps stop after this many optimiser steps in total (0: no limit)
     * @param emaDecay maximum decay of an exponential moving average of the weights ({@link Ema}; 0: none, the course)
     */
    public record Options(int batchSize, int epochs, double learningRate, double labelDropout, long seed, long maxSteps,
            double emaDecay) {
        /** Checks the values. */
        public Options {
            if (batchSize < 1 || epochs < 1 || learningRate <= 0 || labelDropout < 0 || labelDropout >= 1 || maxSteps < 0
                    || emaDecay < 0 || emaDecay >= 1) {
                throw new IllegalArgumentException("training options out of range: batchSize >= 1, epochs >= 1, "
                        + "learningRate > 0, 0 <= labelDropout < 1, maxSteps >= 0, 0 <= emaDecay < 1; got " + this);
            }
        }

        /** Without an EMA of the weights. */
        public Options(int batchSize, int epochs, double learningRate, double labelDropout, long seed, long maxSteps) {
            this(batchSize, epochs, learningRate, labelDropout, seed, maxSteps, 0);
        }

        /** A copy that also keeps an EMA of the weights with this maximum decay (0: none). */
        public Options withEmaDecay(double d) {
            return new Options(batchSize, epochs, learningRate, labelDropout, seed, maxSteps, d);
        }

        /** The course: batch 128, 10 epochs, lr 1e-3, no label dropout, seed 0, no step limit. */
        public static Options course() {
            return new Options(128, 10, 1e-3, 0, 0, 0);
        }

        /** A copy with another label dropout. */
        public Options withLabelDropout(double p) {
            return new Options(batchSize, epochs, learningRate, p, seed, maxSteps, emaDecay);
        }

        /** A copy with another batch size. */
        public Options withBatchSize(int b) {
            return new Options(b, epochs, learningRate, labelDropout, seed, maxSteps, emaDecay);
        }

        /** A copy with another step limit. */
        public Options withMaxSteps(long s) {
            return new Options(batchSize, epochs, learningRate, labelDropout, seed, s, emaDecay);
        }

        /** A copy with another number of epochs. */
        public Options withEpochs(int e) {
            return new Options(batchSize, e, learningRate, labelDropout, seed, maxSteps, emaDecay);
        }
    }

    /** Progress callback; every method has an empty default. */
    public interface Listener {
        /** After each optimiser step ({@code step} counts from 1 over the whole run). */
        default void onStep(long step, int epoch, double loss, double seconds) {
        }

        /** After each epoch, with the course's "average of the last 100 loss values". */
        default void onEpoch(int epoch, double averageOfLast100) {
        }
    }

    private final ClassConditionedUNet model;
    private final Scheduler scheduler;
    private final ImageDataset dataset;
    private final Options options;
    private final AdamW optimizer;
    private final SeededNoise noise;
    private final Ema ema; // null without emaDecay
    private final List<Double> losses = new ArrayList<>();
    private long step;
    private int epoch;
    private int stepInEpoch;
    private double elapsedSeconds;

    /**
     * A fresh run.
     *
     * @param model the model to train (its parameters are updated in place)
     * @param scheduler the noise schedule (the course: {@link #courseScheduler()})
     * @param dataset labelled images (Preprocess NONE for MNIST: 28 x 28 grey in [-1, 1])
     * @param options settings
     * @throws IllegalArgumentException when label dropout is asked of a model without a null class
     */
    public ConditionalTrainer(ClassConditionedUNet model, Scheduler scheduler, ImageDataset dataset, Options options) {
        if (options.labelDropout() > 0 && !model.hasNullClass()) {
            throw new IllegalArgumentException("label dropout " + options.labelDropout() + " needs a model with a null "
                    + "class: build it with ClassConditionedUNet.builder().optNullClass(true)");
        }
        if (!dataset.isLabelled()) {
            throw new IllegalArgumentException("dataset " + dataset.name() + " has no labels: class conditioning needs "
                    + "a labelled dataset such as mnist or fashion-mnist-train");
        }
        this.model = model;
        this.scheduler = scheduler;
        this.dataset = dataset;
        this.options = options;
        this.optimizer = AdamW.builder().optLearningRate(options.learningRate()).optWeightDecay(0)
                .optDevice(model.device()).build();
        this.noise = new SeededNoise(options.seed());
        this.ema = options.emaDecay() > 0 ? new Ema(model.stateDict(), options.emaDecay()) : null;
    }

    /** The moving average of the weights, or null when {@link Options#emaDecay()} is 0. */
    public Ema ema() {
        return ema;
    }

    /** The course's scheduler: DDPMScheduler(num_train_timesteps=1000, beta_schedule='squaredcos_cap_v2'). */
    public static DDPMScheduler courseScheduler() {
        return new DDPMScheduler(SchedulerConfig.builder(SchedulerConfig.DDPM).optBetaSchedule("squaredcos_cap_v2").build());
    }

    /** Optimiser steps done so far. */
    public long step() {
        return step;
    }

    /** The current epoch (0-based). */
    public int epoch() {
        return epoch;
    }

    /** Every loss so far (a copy). */
    public List<Double> losses() {
        return new ArrayList<>(losses);
    }

    /** Wall-clock seconds spent in {@link #train} over the whole run (checkpoints included). */
    public double elapsedSeconds() {
        return elapsedSeconds;
    }

    /**
     * Trains until the epochs are done, {@code maxSteps} is reached, or {@code stopAtMillis} (wall clock) passes.
     *
     * @param listener progress callback (may be null)
     * @param checkpoint folder to save a checkpoint into every {@code checkpointEvery} steps and at the end (null: none)
     * @param checkpointEvery steps between checkpoints (0: only at the end)
     * @param stopAtMillis {@code System.currentTimeMillis()} after which to stop (Long.MAX_VALUE: never)
     */
    public void train(Listener listener, Path checkpoint, int checkpointEvery, long stopAtMillis) throws IOException {
        Listener l = listener == null ? new Listener() { } : listener;
        Map<String, NDArray> params = model.stateDict();
        NDManager root = model.manager();
        long nullLabel = model.hasNullClass() ? model.nullLabel() : -1;
        outer:
        while (epoch < options.epochs()) {
            Iterator<int[]> it = dataset.batches(options.batchSize(), options.seed(), epoch).iterator();
            for (int skip = 0; skip < stepInEpoch && it.hasNext(); skip++) {
                it.next();
            }
            while (it.hasNext()) {
                if ((options.maxSteps() > 0 && step >= options.maxSteps()) || System.currentTimeMillis() > stopAtMillis) {
                    break outer;
                }
                long t0 = System.nanoTime();
                int[] idx = it.next();
                double loss;
                try (NDManager sm = root.newSubManager(); ImageDataset.Batch b = dataset.batch(sm, idx, options.seed())) {
                    long[] y = b.labels().toLongArray();
                    if (options.labelDropout() > 0) {
                        for (int i = 0; i < y.length; i++) {
                            if (noise.nextDouble() < options.labelDropout()) {
                                y[i] = nullLabel; // classifier-free guidance: learn the unconditional model too
                            }
                        }
                    }
                    NDArray labels = sm.create(y);
                    NDArray x = b.images(); // x * 2 - 1: already in [-1, 1]
                    NDArray eps = noise.randn(sm, x.getShape()); // torch.randn_like(x)
                    NDArray t = noise.randint(sm, y.length, COURSE_TIMESTEP_BOUND); // torch.randint(0, 999, (bs,))
                    NDArray noisy = scheduler.addNoise(x, eps, t);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray pred = model.forward(noisy, t, labels, true);
                        NDArray mse = pred.sub(eps).square().mean(); // nn.MSELoss: mean of squares
                        gc.backward(mse);
                        loss = mse.getFloat();
                    }
                    Supplier<Path> lastGood = () -> checkpoint != null
                            && Files.isRegularFile(checkpoint.resolve(STATE_NAME)) ? checkpoint : null;
                    TrainingChecks.requireFinite("training the class-conditioned model", loss, params, step + 1, epoch,
                            optimizer.learningRate(), lastGood);
                    optimizer.step(params);
                    AdamW.zeroGradients(params);
                    if (ema != null) {
                        ema.update(params);
                    }
                }
                step++;
                stepInEpoch++;
                losses.add(loss);
                double sec = (System.nanoTime() - t0) / 1e9;
                elapsedSeconds += sec;
                l.onStep(step, epoch, loss, sec);
                if (checkpoint != null && checkpointEvery > 0 && step % checkpointEvery == 0) {
                    saveCheckpoint(checkpoint);
                }
            }
            l.onEpoch(epoch, averageOfLast(100));
            epoch++;
            stepInEpoch = 0;
        }
        if (checkpoint != null) {
            saveCheckpoint(checkpoint);
        }
    }

    /** The mean of the last {@code n} losses (the course prints n = 100 after each epoch); NaN when none. */
    public double averageOfLast(int n) {
        int from = Math.max(0, losses.size() - n);
        double s = 0;
        for (int i = from; i < losses.size(); i++) {
            s += losses.get(i);
        }
        return losses.size() == from ? Double.NaN : s / (losses.size() - from);
    }

    /**
     * Writes a resumable checkpoint: the model ({@link ClassConditionedUNet#savePretrained}), {@code scheduler/},
     * {@value #OPTIMIZER_NAME} and {@value #STATE_NAME}.
     */
    public void saveCheckpoint(Path folder) throws IOException {
        long t0 = System.nanoTime();
        model.savePretrained(folder);
        scheduler.save(folder.resolve(SCHEDULER_FOLDER));
        Safetensors.write(folder.resolve(OPTIMIZER_NAME), optimizer.state(), Map.of("format", "pt"));
        if (ema != null) {
            saveEma(folder.resolve(EMA_FOLDER));
        }
        JsonObject s = new JsonObject();
        s.addProperty("step", step);
        s.addProperty("epoch", epoch);
        s.addProperty("step_in_epoch", stepInEpoch);
        s.addProperty("batch_size", options.batchSize());
        s.addProperty("epochs", options.epochs());
        s.addProperty("learning_rate", options.learningRate());
        s.addProperty("label_dropout", options.labelDropout());
        s.addProperty("seed", options.seed());
        if (ema != null) {
            s.addProperty("ema_decay", options.emaDecay());
            s.addProperty("ema_steps", ema.steps());
        }
        s.addProperty("dataset", dataset.name());
        s.addProperty("elapsed_seconds", elapsedSeconds + (System.nanoTime() - t0) / 1e9);
        JsonArray st = new JsonArray();
        for (long v : noise.state()) {
            st.add(Long.toString(v));
        }
        s.add("noise_state", st);
        JsonArray ls = new JsonArray();
        for (double v : losses) {
            ls.add(v);
        }
        s.add("losses", ls);
        AtomicFiles.writeString(folder.resolve(STATE_NAME), GSON.toJson(s) + "\n");
    }

    /**
     * Writes the EMA weights as a model folder (the model's own weights are swapped in and back).
     *
     * @throws IllegalStateException when the run keeps no EMA
     */
    public void saveEma(Path folder) throws IOException {
        if (ema == null) {
            throw new IllegalStateException("this run keeps no EMA of the weights: set Options.emaDecay (--ema-decay)");
        }
        try (NDManager keep = NDManager.newBaseManager(model.device())) {
            Map<String, NDArray> live = new java.util.LinkedHashMap<>();
            model.stateDict().forEach((k, v) -> {
                NDArray c = v.duplicate().stopGradient();
                c.attach(keep);
                live.put(k, c);
            });
            model.loadStateDict(ema.weights());
            try {
                model.savePretrained(folder);
            } finally {
                model.loadStateDict(live);
            }
        }
    }

    /**
     * Continues a run from a checkpoint folder: the model is loaded from it, the optimiser state when
     * {@value #OPTIMIZER_NAME} is there (else fresh Adam moments), and the step, epoch, position and generator
     * from {@value #STATE_NAME}. Batch size, learning rate, dropout and seed come from {@code options} (pass the
     * ones of the run to continue it exactly).
     *
     * @param folder a checkpoint folder (or a model folder with {@value #STATE_NAME})
     * @param model a model loaded from {@code folder} ({@link ClassConditionedUNet#fromPretrained})
     * @throws CheckpointException when {@value #STATE_NAME} is missing or unreadable
     */
    public static ConditionalTrainer resume(Path folder, ClassConditionedUNet model, Scheduler scheduler,
            ImageDataset dataset, Options options) throws IOException {
        Path stateFile = folder.resolve(STATE_NAME);
        if (!Files.isRegularFile(stateFile)) {
            throw new CheckpointException(folder + " has no " + STATE_NAME + ": it is not a training checkpoint. Start "
                    + "a new run, or point to the folder a training run writes its checkpoints to.");
        }
        ConditionalTrainer tr = new ConditionalTrainer(model, scheduler, dataset, options);
        long emaSteps;
        try {
            JsonObject s = JsonParser.parseString(Files.readString(stateFile, StandardCharsets.UTF_8)).getAsJsonObject();
            emaSteps = s.has("ema_steps") ? s.get("ema_steps").getAsLong() : 0;
            tr.step = s.get("step").getAsLong();
            tr.epoch = s.get("epoch").getAsInt();
            tr.stepInEpoch = s.get("step_in_epoch").getAsInt();
            tr.elapsedSeconds = s.get("elapsed_seconds").getAsDouble();
            JsonArray st = s.getAsJsonArray("noise_state");
            long[] state = new long[st.size()];
            for (int i = 0; i < state.length; i++) {
                state[i] = Long.parseLong(st.get(i).getAsString());
            }
            tr.noise.setState(state);
            if (s.has("losses")) {
                s.getAsJsonArray("losses").forEach(v -> tr.losses.add(v.getAsDouble()));
            }
        } catch (RuntimeException e) {
            throw new CheckpointException(stateFile + ": unreadable training state (" + e + "); start a new run.", e);
        }
        Path emaFolder = folder.resolve(EMA_FOLDER);
        if (tr.ema != null && Files.isRegularFile(emaFolder.resolve(ClassConditionedUNet.CONFIG_NAME))) {
            try (NDManager cpu = NDManager.newBaseManager(ai.djl.Device.cpu());
                    ClassConditionedUNet saved = ClassConditionedUNet.fromPretrained(emaFolder, cpu)) {
                Map<String, NDArray> shadow = tr.ema.weights();
                for (Map.Entry<String, NDArray> e : saved.stateDict().entrySet()) {
                    NDArray dst = shadow.get(e.getKey());
                    if (dst == null || !dst.getShape().equals(e.getValue().getShape())) {
                        throw new CheckpointException(emaFolder + ": EMA weights do not fit the model (" + e.getKey()
                                + "); delete " + emaFolder + " to start the average afresh.");
                    }
                    e.getValue().toDevice(dst.getDevice(), false).copyTo(dst);
                }
            }
            tr.ema.setSteps(emaSteps);
        } // else the average starts from the resumed weights (diffusers' warm-up from step 0)
        Path opt = folder.resolve(OPTIMIZER_NAME);
        if (Files.isRegularFile(opt)) {
            try (NDManager cpu = NDManager.newBaseManager(ai.djl.Device.cpu())) {
                tr.optimizer.loadState(Safetensors.read(opt, cpu));
            }
        }
        return tr;
    }
}
