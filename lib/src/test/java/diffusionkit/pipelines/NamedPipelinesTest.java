package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** diffusers' {@code DDPMPipeline} and {@code DDIMPipeline} under their names: their loops, defaults and files. */
class NamedPipelinesTest {

    static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @Test
    void ddpmPipelineIsTheAncestralLoopWrittenOut() throws Exception {
        try (DDPMPipeline pipe = DDPMPipeline.fromPretrained(DiffusionPipelineTest.UNET_A, manager);
                NDManager m = manager.newSubManager()) {
            assertInstanceOf(DDPMScheduler.class, pipe.scheduler());
            assertEquals(1000, DDPMPipeline.DEFAULT_STEPS);
            float[] sampled;
            try (PipelineOutput out = pipe.call(2, 3, 11)) {
                sampled = out.images().toFloatArray();
            }
            // by hand, with the same generator: noise first, then each step's variance noise
            SeededNoise g = new SeededNoise(11);
            Scheduler s = new DDPMScheduler(pipe.scheduler().config());
            s.setTimesteps(3);
            NDArray x = g.randn(m, pipe.sampleShape(2));
            for (long t : s.timesteps()) {
                x = s.step(pipe.unet().forward(x, t, null), t, x, g).prevSample();
            }
            assertArrayEquals(x.toFloatArray(), sampled, 1e-6f);
            assertEquals(List.of(666L, 333L, 0L), java.util.Arrays.stream(s.timesteps()).boxed().toList());
        }
    }

    @Test
    void ddimPipelineTurnsItsSchedulerIntoDdimAndSavesItselfByName(@TempDir Path tmp) throws Exception {
        try (DDIMPipeline pipe = DDIMPipeline.fromPretrained(DiffusionPipelineTest.UNET_A, manager)) {
            assertInstanceOf(DDIMScheduler.class, pipe.scheduler(), "DDIMScheduler.from_config(scheduler.config)");
            assertEquals("linear", pipe.scheduler().config().betaSchedule());
            pipe.setScheduler(new DDPMScheduler());
            assertInstanceOf(DDIMScheduler.class, pipe.scheduler());
            assertEquals(50, DDIMPipeline.DEFAULT_STEPS);

            List<Long> seen = new ArrayList<>();
            float[] viaCall;
            try (PipelineOutput out = pipe.call(2, 4, 0f, 7, (i, t, x, x0) -> seen.add(t))) {
                viaCall = out.images().toFloatArray();
            }
            assertEquals(List.of(750L, 500L, 250L, 0L), seen);
            try (PipelineOutput plain = new DiffusionPipeline(pipe.unet(), new DDPMScheduler()).generateDdim(2, 4, 7)) {
                assertArrayEquals(plain.images().toFloatArray(), viaCall, 0f);
            }

            Path out = tmp.resolve("ddim");
            pipe.savePretrained(out);
            JsonObject index = JsonParser.parseString(Files.readString(out.resolve("model_index.json"))).getAsJsonObject();
            assertEquals("DDIMPipeline", index.get("_class_name").getAsString());
            assertEquals("[\"diffusers\",\"DDIMScheduler\"]", index.get("scheduler").toString());
            assertEquals("DDIMPipeline", DiffusionPipeline.pipelineClass(out));
            try (DDIMPipeline back = DDIMPipeline.fromPretrained(out, manager)) {
                assertInstanceOf(DDIMScheduler.class, back.scheduler());
            }
        }
    }
}
