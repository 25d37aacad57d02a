package diffusionkit.cli;

import diffusionkit.models.ClassConditionedUNet;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.data.KitHome;
import diffusionkit.io.Safetensors;
import diffusionkit.training.Checkpoints;
import diffusionkit.training.TrainerState;
import diffusionkit.training.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kit train-conditional} on the course's exercise data set (Fashion-MNIST): two steps in one go equal one
 * step, a resume and one more, bit for bit; the shipped model is a starting point; nothing to resume is an error.
 */
class TrainConditionalCommandTest {

    static final String[] COMMON = {"--dataset", "fashion-mnist-train", "--limit", "8", "--batch-size", "2",
        "--label-dropout", "0.1", "--ema-decay", "0.9", "--checkpoint-every", "0"};

    static int run(Path out, String... more) {
        String[] args = concat(concat(new String[] {"--output", out.toString()}, COMMON), more);
        return new CommandLine(new TrainConditionalCommand()).execute(args);
    }

    static List<String> lossColumn(Path run) throws Exception {
        return Files.readAllLines(run.resolve("loss.csv")).stream().skip(1).map(l -> l.split(",")[2]).toList();
    }

    @Test
    void resumesExactlyAndStartsFromTheShippedModel(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        assertEquals(0, run(a, "--max-steps", "2"));
        assertEquals(0, run(b, "--max-steps", "1"));
        Path first = Checkpoints.folder(b, 1);
        assertEquals(1, TrainerState.read(first.resolve(TrainerState.FILE_NAME)).globalStep());
        for (String f : List.of("class_conditioned.json", "class_emb.safetensors", "unet/config.json",
                "scheduler/scheduler_config.json", Checkpoints.OPTIMIZER_FILE, Checkpoints.EMA_FILE, "loss.csv")) {
            assertTrue(Files.isRegularFile(first.resolve(f)), f);
        }
        assertEquals(0, run(b, "--max-steps", "2", "--resume"));
        // the same losses and the same weights, optimiser moments and EMA as the uninterrupted run
        assertEquals(2, lossColumn(a).size());
        assertEquals(lossColumn(a), lossColumn(b));
        Path cpA = Checkpoints.folder(a, 2);
        Path cpB = Checkpoints.folder(b, 2);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                ClassConditionedUNet ma = ClassConditionedUNet.fromPretrained(cpA, m);
                ClassConditionedUNet mb = ClassConditionedUNet.fromPretrained(cpB, m)) {
            assertTrue(ma.hasNullClass());
            ma.stateDict().forEach((k, v) -> assertArrayEquals(v.toFloatArray(), mb.stateDict().get(k).toFloatArray(), k));
            for (String f : List.of(Checkpoints.EMA_FILE, Checkpoints.OPTIMIZER_FILE)) {
                Map<String, NDArray> ea = Safetensors.read(cpA.resolve(f), m);
                Map<String, NDArray> eb = Safetensors.read(cpB.resolve(f), m);
                assertEquals(ea.keySet(), eb.keySet());
                ea.forEach((k, v) -> assertArrayEquals(v.toByteArray(), eb.get(k).toByteArray(), f + " " + k)); // raw bytes: "step" is int64
            }
            // the final model folder holds the EMA weights
            try (ClassConditionedUNet fin = ClassConditionedUNet.fromPretrained(b.resolve(TrainConditionalCommand.MODEL_FOLDER), m)) {
                Map<String, NDArray> ema = Safetensors.read(cpB.resolve(Checkpoints.EMA_FILE), m);
                fin.stateDict().forEach((k, v) -> assertArrayEquals(ema.get(k).toFloatArray(), v.toFloatArray(), k));
            }
        }
        // the shipped model (a model folder, no checkpoint) is a starting point: its weights, a fresh optimiser
        Path home = KitHome.find();
        assertNotNull(home, "run the tests inside the kit's checkout");
        Path c = tmp.resolve("c");
        assertEquals(0, run(c, "--max-steps", "1", "--resume-from", home.resolve("datasets/models/mnist-conditional").toString()));
        assertEquals(1, TrainerState.read(Checkpoints.folder(c, 1).resolve(TrainerState.FILE_NAME)).globalStep());
        // nothing to resume: a clear error, not a fresh run
        int rc = new CommandLine(new TrainConditionalCommand()).execute("--output", tmp.resolve("none").toString(),
                "--resume", "--max-steps", "1");
        assertEquals(2, rc);
        assertFalse(Files.exists(tmp.resolve("none")));
    }

    /** The shared training options carry the course's recipe as defaults, and the command's own names still work. */
    @Test
    void defaultsAreTheCoursesRecipeAndItsOwnNamesAreKept() {
        TrainConditionalCommand cmd = new TrainConditionalCommand();
        new CommandLine(cmd).parseArgs("--output", "runs/x");
        TrainingConfig c = cmd.trainingConfig(TrainingConfig.conditionalCourse());
        // the class-conditioning notebook: batch 128, 10 epochs, Adam(lr=1e-3), torch.randint(0, 999), no schedule
        assertEquals(128, c.batchSize());
        assertEquals(1, c.gradAccumulationSteps());
        assertEquals(10, c.numEpochs());
        assertEquals(1e-3, c.learningRate());
        assertEquals(0, c.weightDecay());
        assertEquals(1.0, c.lrGamma());
        assertEquals(999, c.timestepBound());
        assertEquals(0, c.seed());
        assertEquals(50, c.saveModelEvery());
        assertEquals(0, c.logSamplesEvery());
        assertFalse(c.progressBar());
        assertEquals(Path.of("runs/x/model"), c.outputDir());
        assertEquals("mnist", cmd.datasetName);
        assertFalse(cmd.flip, "digits are not mirrored");
        cmd = new TrainConditionalCommand();
        new CommandLine(cmd).parseArgs("--output", "runs/y", "--epochs", "3", "--batch-size", "64", "--checkpoint-every",
                "7", "--dataset", "fashion-mnist-train", "--max-steps", "9", "--ema-decay", "0.99", "--seed", "5");
        c = cmd.trainingConfig(TrainingConfig.conditionalCourse());
        assertEquals(List.of(3, 64, 7, 9L, 0.99, 5L), List.of(c.numEpochs(), c.batchSize(), c.saveModelEvery(),
                c.maxSteps(), c.emaDecay(), c.seed()));
        assertEquals("fashion-mnist-train", cmd.datasetName);
    }

    static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
