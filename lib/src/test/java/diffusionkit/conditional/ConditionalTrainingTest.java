package diffusionkit.conditional;

import diffusionkit.models.ClassConditionedUNet;
import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.ImageDataset;
import diffusionkit.models.NoisePredictor;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.training.Checkpoints;
import diffusionkit.training.DiffusionTrainer;
import diffusionkit.training.TrainingConfig;
import diffusionkit.training.TrainingSummary;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one trainer on a tiny ClassConditionedUNet: labels, label dropout, the course's timestep bound, exact resume. */
class ConditionalTrainingTest {

    /** A concat-mode UNet small enough to train in a test: 8x8 grey + 2 class channels, channels (8, 16). */
    static UNet2DConfig tinyUNet() {
        return UNet2DConfig.fromJson("""
                {"sample_size": 8, "in_channels": 3, "out_channels": 1, "layers_per_block": 1,
                 "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 4}""");
    }

    /** 3 classes + the null class, embedding width 2; random weights fixed by {@code seed}. */
    static ClassConditionedUNet tiny(NDManager m, int seed) {
        Engine.getInstance().setRandomSeed(seed);
        return ClassConditionedUNet.builder().optNumClasses(3).optClassEmbSize(2).optNullClass(true)
                .optUNetConfig(tinyUNet()).build(m);
    }

    /** {@code n} 8x8 grey images of seeded noise, labelled 0, 1, 2, 0, ... */
    static ImageDataset toy(int n, long seed, boolean labelled) {
        SeededNoise g = new SeededNoise(seed);
        byte[][] px = new byte[n][64];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 64; j++) {
                px[i][j] = (byte) g.nextLong(256);
            }
            labels[i] = i % 3;
        }
        return ImageDataset.of("toy", 1, 8, 8, px, labelled ? labels : null, labelled ? List.of("a", "b", "c") : List.of());
    }

    static TrainingConfig.Builder recipe() {
        return TrainingConfig.conditionalCourse().optBatchSize(2).optNumEpochs(2).optLabelDropout(0.5).optEmaDecay(0.9)
                .optSeed(11);
    }

    static Map<String, float[]> copy(Map<String, NDArray> sd) {
        Map<String, float[]> out = new LinkedHashMap<>();
        sd.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    static void assertBitwiseEqual(Map<String, float[]> expected, Map<String, NDArray> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k).toFloatArray(), what + " " + k));
    }

    @Test
    void resumesExactly(@TempDir Path tmp) throws IOException {
        ImageDataset data = toy(8, 5, true); // 4 steps per epoch; 6 steps cross the epoch boundary
        Scheduler sched = ClassConditionedUNet.courseScheduler();
        List<Double> full;
        Map<String, float[]> fullWeights;
        Map<String, float[]> fullEma;
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet net = tiny(m, 1)) {
            DiffusionTrainer t = new DiffusionTrainer(net, sched, data, recipe().optMaxSteps(6).build());
            full = t.train().losses();
            fullWeights = copy(net.stateDict());
            fullEma = copy(t.ema().weights());
        }
        assertEquals(6, full.size());
        Path log = tmp.resolve("run");
        Map<String, float[]> at3;
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet net = tiny(m, 1)) {
            DiffusionTrainer t = new DiffusionTrainer(net, sched, data,
                    recipe().optMaxSteps(3).optSaveModelEvery(3).optLogDir(log).build());
            assertEquals(full.subList(0, 3), t.train().losses());
            at3 = copy(net.stateDict());
        }
        Path cp = Checkpoints.folder(log, 3);
        // the checkpoint is a model folder: ClassConditionedUNet.fromPretrained reads its weights bit for bit
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet saved = ClassConditionedUNet.fromPretrained(cp, m)) {
            assertTrue(saved.hasNullClass());
            assertBitwiseEqual(at3, saved.stateDict(), "checkpoint");
        }
        // a new process with other initial weights: everything comes from the checkpoint
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet net = tiny(m, 99)) {
            DiffusionTrainer t = new DiffusionTrainer(net, sched, data, recipe().optMaxSteps(6).optLogDir(log).build());
            assertEquals(3, t.resume(log).globalStep());
            TrainingSummary s = t.train();
            assertEquals(full.subList(3, 6), s.losses()); // identical losses, bit for bit
            assertEquals(full, t.losses()); // the loss table holds the first half too
            assertBitwiseEqual(fullWeights, net.stateDict(), "weights");
            assertBitwiseEqual(fullEma, t.ema().weights(), "EMA");
        }
    }

    /** Records what the trainer feeds the model. */
    static final class Recorder implements NoisePredictor {
        final ClassConditionedUNet inner;
        final List<long[]> labels = new ArrayList<>();
        final List<long[]> timesteps = new ArrayList<>();

        Recorder(ClassConditionedUNet inner) {
            this.inner = inner;
        }

        @Override
        public NDArray forward(NDArray sample, NDArray t, NDArray classLabels, boolean training) {
            labels.add(classLabels.toLongArray());
            timesteps.add(t.toLongArray());
            return inner.forward(sample, t, classLabels, training);
        }

        @Override
        public Map<String, NDArray> stateDict() {
            return inner.stateDict();
        }

        @Override
        public void loadStateDict(Map<String, NDArray> sd) {
            inner.loadStateDict(sd);
        }

        @Override
        public NDManager manager() {
            return inner.manager();
        }

        @Override
        public int numClasses() {
            return inner.numClasses();
        }

        @Override
        public boolean hasNullClass() {
            return inner.hasNullClass();
        }

        @Override
        public long nullLabel() {
            return inner.nullLabel();
        }

        @Override
        public void savePretrained(Path folder) throws IOException {
            inner.savePretrained(folder);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void feedsLabelsDropsThemToTheNullClassAndDrawsTimestepsBelowTheBound() {
        ImageDataset data = toy(16, 6, true);
        long seed = 4;
        TrainingConfig cfg = recipe().optBatchSize(16).optLabelDropout(0.3).optSeed(seed).optTimestepBound(7).build();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Recorder net = new Recorder(tiny(m, 2))) {
            DiffusionTrainer t = new DiffusionTrainer(net, ClassConditionedUNet.courseScheduler(), data, cfg);
            int[] batch = data.batches(16, seed, 0).iterator().next();
            t.step(List.of(batch));
            // the documented draw order, from the seed alone: per image its timestep, its noise, then the dropout coin
            SeededNoise g = new SeededNoise(seed);
            long[] t0 = new long[16];
            long[] y = new long[16];
            int dropped = 0;
            for (int i = 0; i < 16; i++) {
                t0[i] = g.nextLong(7);
                g.randnFloats(64);
                y[i] = g.nextDouble() < 0.3 ? 3 : data.label(batch[i]);
                dropped += y[i] == 3 ? 1 : 0;
            }
            assertArrayEquals(t0, net.timesteps.get(0));
            assertArrayEquals(y, net.labels.get(0));
            assertTrue(dropped > 0 && dropped < 16, dropped + " of 16 dropped at p = 0.3");
            for (long v : net.timesteps.get(0)) {
                assertTrue(v >= 0 && v < 7, "timestep " + v);
            }
        }
    }

    @Test
    void badCombinationsAreRefusedWithTheFix() {
        Scheduler sched = ClassConditionedUNet.courseScheduler();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); ClassConditionedUNet net = tiny(m, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new DiffusionTrainer(net, sched, toy(4, 1, false), recipe().optLabelDropout(0).build()));
            assertTrue(e.getMessage().contains("has none") && e.getMessage().contains("labelled dataset"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> new DiffusionTrainer(net, sched, toy(4, 1, true), recipe().optTimestepBound(1001).build()));
            assertTrue(e.getMessage().contains("at most 1000"), e.getMessage());
            Engine.getInstance().setRandomSeed(3);
            try (ClassConditionedUNet noNull = ClassConditionedUNet.builder().optNumClasses(3).optClassEmbSize(2)
                    .optUNetConfig(tinyUNet()).build(m)) {
                e = assertThrows(IllegalArgumentException.class,
                        () -> new DiffusionTrainer(noNull, sched, toy(4, 1, true), recipe().build()));
                assertTrue(e.getMessage().contains("optNullClass(true)"), e.getMessage());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> recipe().optLabelDropout(1.0).build());
    }

    @Test
    void theCoursePresetIsTheNotebooksRecipe() {
        TrainingConfig c = TrainingConfig.conditionalCourse().build();
        assertEquals(128, c.batchSize());
        assertEquals(10, c.numEpochs());
        assertEquals(1e-3, c.learningRate());
        assertEquals(0, c.weightDecay()); // torch.optim.Adam: no weight decay
        assertEquals(999, c.timestepBound()); // torch.randint(0, 999)
        assertEquals(0, c.labelDropout());
        assertEquals(0, c.emaDecay());
        assertEquals(1.0, c.lrGamma());
    }
}
