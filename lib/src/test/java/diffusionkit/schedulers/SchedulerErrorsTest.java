package diffusionkit.schedulers;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.google.gson.JsonPrimitive;

import diffusionkit.io.CheckpointException;
import diffusionkit.util.SeededNoise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** Every failure names what was wrong, where, and what to do instead. */
class SchedulerErrorsTest {

    private static void assertMentions(Throwable e, String... words) {
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), "message should mention '" + w + "': " + e.getMessage());
        }
    }

    private static SchedulerConfig ddpm() {
        return SchedulerConfig.of(SchedulerConfig.DDPM);
    }

    @Test
    void unknownBetaSchedule() {
        SchedulerConfig c = ddpm().with(SchedulerConfig.BETA_SCHEDULE, "cubic");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDPMScheduler(c)),
                "beta_schedule", "cubic", "linear", "scaled_linear", "squaredcos_cap_v2");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(c)), "beta_schedule", "cubic");
        // sigmoid is DDPM-only in diffusers
        SchedulerConfig sig = ddpm().with(SchedulerConfig.BETA_SCHEDULE, "sigmoid");
        new DDPMScheduler(sig);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(sig)), "sigmoid", "DDIMScheduler");
    }

    @Test
    void unsupportedVarianceType() {
        for (String v : new String[] {"learned_range", "learned", "fixed_small_log", "fixed_large_log", "bogus"}) {
            SchedulerConfig c = ddpm().with(SchedulerConfig.VARIANCE_TYPE, v);
            assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDPMScheduler(c)),
                    "variance_type", v, "fixed_small", "fixed_large");
        }
    }

    @Test
    void unknownPredictionType() {
        SchedulerConfig c = ddpm().with(SchedulerConfig.PREDICTION_TYPE, "x0");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDPMScheduler(c)),
                "prediction_type", "x0", "epsilon", "v_prediction", "sample");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(c)), "prediction_type", "x0");
    }

    @Test
    void unknownTimestepSpacing() {
        SchedulerConfig c = ddpm().with(SchedulerConfig.TIMESTEP_SPACING, "uniform");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDIMScheduler(c)),
                "timestep_spacing", "uniform", "leading", "trailing", "linspace");
    }

    @Test
    void thresholdingIsRejected() {
        SchedulerConfig c = ddpm().with(SchedulerConfig.THRESHOLDING, true);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDPMScheduler(c)), "thresholding", "false");
    }

    @Test
    void wrongTypesAndTrainedBetasLength() {
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> ddpm().with("num_train_timesteps", new JsonPrimitive("1000"))), "num_train_timesteps", "integer");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> ddpm().with("clip_sample", new JsonPrimitive(1))), "clip_sample", "true or false");
        SchedulerConfig c = ddpm().with(SchedulerConfig.NUM_TRAIN_TIMESTEPS, 10)
                .with(SchedulerConfig.TRAINED_BETAS, new float[] {0.1f, 0.2f});
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new DDPMScheduler(c)),
                "trained_betas", "2", "10");
    }

    @Test
    void tooManyInferenceSteps() {
        for (Scheduler s : new Scheduler[] {new DDPMScheduler(), new DDIMScheduler()}) {
            assertMentions(assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(1001)), "1001", "1000");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(0)), "at least 1");
        }
    }

    @Test
    void ddimStepBeforeSetTimesteps() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.zeros(new Shape(1, 1, 2, 2));
            DDIMScheduler s = new DDIMScheduler();
            assertMentions(assertThrows(IllegalStateException.class, () -> s.step(x, 999, x)), "setTimesteps");
            // DDPM does not require it (diffusers steps t -> t-1 then)
            new DDPMScheduler().step(x, 999, x, x);
        }
    }

    @Test
    void stepArgumentErrors() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.zeros(new Shape(1, 1, 2, 2));
            DDIMScheduler s = new DDIMScheduler();
            s.setTimesteps(10);
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> s.step(x, 900, x, 1f, false, new SeededNoise(1), x)), "generator", "varianceNoise");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> s.step(x, 1000, x)), "1000", "999");
            assertMentions(assertThrows(IllegalArgumentException.class, () -> s.step(x, 900, x, -1f)), "eta");
            NDArray wide = m.zeros(new Shape(1, 2, 2, 2));
            assertMentions(assertThrows(IllegalArgumentException.class, () -> s.step(wide, 900, x)), "shape");
            DDPMScheduler p = new DDPMScheduler();
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> p.addNoise(x, x, m.create(new float[] {3f}))), "integer");
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> p.addNoise(x, x, m.create(new long[] {3, 4, 5}))), "3 timesteps");
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> p.setTimesteps(new long[] {10, 20})), "descending");
        }
    }

    @Test
    void fileErrorsNameTheFile(@TempDir Path tmp) throws Exception {
        assertMentions(assertThrows(CheckpointException.class, () -> SchedulerConfig.load(tmp)), SchedulerConfig.FILE_NAME);
        Path f = tmp.resolve(SchedulerConfig.FILE_NAME);
        Files.writeString(f, "{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": ");
        assertMentions(assertThrows(CheckpointException.class, () -> SchedulerConfig.load(tmp)), f.toString(), "JSON");
        Files.writeString(f, "[1, 2]");
        assertMentions(assertThrows(CheckpointException.class, () -> SchedulerConfig.load(tmp)), f.toString(), "object");
        Files.writeString(f, "{\"_class_name\": \"DDPMScheduler\", \"beta_start\": \"small\"}");
        assertMentions(assertThrows(CheckpointException.class, () -> SchedulerConfig.load(f)), f.toString(), "beta_start");
        Files.writeString(f, "{\"_class_name\": \"DDPMScheduler\", \"variance_type\": \"learned_range\"}");
        SchedulerConfig.load(f); // loads (to inspect or save) ...
        assertMentions(assertThrows(CheckpointException.class, () -> Scheduler.load(tmp)), // ... but builds no scheduler
                f.toString(), "variance_type", "learned_range", "fixed_small");
        assertMentions(assertThrows(CheckpointException.class, () -> DDPMScheduler.load(tmp)), f.toString(), "learned_range");
    }
}
