package diffusionkit.conditional;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kit train-conditional} on the course's exercise data set (Fashion-MNIST): a step, a checkpoint, a resume. */
class TrainConditionalCommandTest {

    static JsonObject state(Path folder) throws Exception {
        return JsonParser.parseString(Files.readString(folder.resolve(ConditionalTrainer.STATE_NAME))).getAsJsonObject();
    }

    @Test
    void trainsOnFashionMnistAndResumes(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("run");
        String[] common = {"--output", out.toString(), "--dataset", "fashion-mnist-train", "--limit", "8",
                "--batch-size", "2", "--label-dropout", "0.1", "--checkpoint-every", "0"};
        int rc = new CommandLine(new TrainConditionalCommand()).execute(concat(common, "--max-steps", "1"));
        assertEquals(0, rc);
        assertEquals(1, state(out).get("step").getAsLong());
        assertEquals("fashion-mnist-train", state(out).get("dataset").getAsString());
        assertTrue(Files.isRegularFile(out.resolve("scheduler/scheduler_config.json")));
        assertTrue(Files.isRegularFile(out.resolve(ConditionalTrainer.OPTIMIZER_NAME)));
        rc = new CommandLine(new TrainConditionalCommand()).execute(concat(common, "--max-steps", "2", "--resume"));
        assertEquals(0, rc);
        assertEquals(2, state(out).get("step").getAsLong());
        assertEquals(2, state(out).getAsJsonArray("losses").size());
        // a model folder without optimizer state (as shipped) resumes with fresh Adam moments
        Files.delete(out.resolve(ConditionalTrainer.OPTIMIZER_NAME));
        Path out2 = tmp.resolve("run2");
        rc = new CommandLine(new TrainConditionalCommand()).execute("--output", out2.toString(), "--resume-from",
                out.toString(), "--dataset", "fashion-mnist-train", "--limit", "8", "--batch-size", "2",
                "--label-dropout", "0.1", "--max-steps", "3", "--checkpoint-every", "0");
        assertEquals(0, rc);
        assertEquals(3, state(out2).get("step").getAsLong());
        // nothing to resume: a clear error, not a fresh run
        rc = new CommandLine(new TrainConditionalCommand()).execute("--output", tmp.resolve("none").toString(),
                "--resume", "--max-steps", "1");
        assertEquals(2, rc);
        assertFalse(Files.exists(tmp.resolve("none")));
    }

    static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
