package diffusionkit.pipelines;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.SchedulerOutput;
import diffusionkit.util.SeededNoise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class DiffusionPipelineTest {

    static final Path UNET_A = Paths.get("src/test/resources/vectors/unet_a");
    static NDManager manager;
    static DiffusionPipeline pipe;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        pipe = DiffusionPipeline.fromPretrained(UNET_A, manager);
    }

    @AfterAll
    static void close() {
        pipe.close();
        manager.close();
    }

    @Test
    void aBareUnetFolderGetsDiffusersDefaultScheduler() {
        assertInstanceOf(DDPMScheduler.class, pipe.scheduler());
        assertEquals(1000, pipe.scheduler().numTrainTimesteps());
        assertEquals("linear", pipe.scheduler().config().betaSchedule());
    }

    @Test
    void saveWritesTheDiffusersLayoutAndLoadsBackIdentically(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("pipe");
        pipe.savePretrained(out);
        Set<String> files = new TreeSet<>();
        try (var walk = Files.walk(out)) {
            walk.filter(Files::isRegularFile).forEach(p -> files.add(out.relativize(p).toString()));
        }
        assertEquals(new TreeSet<>(List.of("model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors")), files);
        JsonObject index = JsonParser.parseString(Files.readString(out.resolve("model_index.json"))).getAsJsonObject();
        assertEquals("DDPMPipeline", index.get("_class_name").getAsString());
        assertEquals("[\"diffusers\",\"UNet2DModel\"]", index.get("unet").toString());
        assertEquals("[\"diffusers\",\"DDPMScheduler\"]", index.get("scheduler").toString());
        // exactly the keys diffusers' save_pretrained writes for a DDPMPipeline
        assertEquals(new TreeSet<>(List.of("_class_name", "_diffusers_version", "scheduler", "unet")), index.keySet());
        assertEquals(java.util.Map.of("format", "pt"), diffusionkit.io.Safetensors.metadata(
                out.resolve("unet/diffusion_pytorch_model.safetensors")), "the metadata diffusers writes");
        try (DiffusionPipeline back = DiffusionPipeline.fromPretrained(out, manager);
                NDManager m = manager.newSubManager()) {
            NDArray x = new SeededNoise(3).randn(m, pipe.sampleShape(2));
            NDArray a = pipe.unet().forward(x, 500, null);
            NDArray b = back.unet().forward(x, 500, null);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 0f);
        }
    }

    @Test
    void theDdimLoopIsUnetThenSchedulerStepAndFreesEachStep() {
        List<Long> seen = new ArrayList<>();
        float[][] firstX0 = new float[1][];
        pipe.generateDdim(2, 1, 0).close(); // warm-up: layers cache their constants on first use
        int before = manager.getManagedArrays().size();
        try (PipelineOutput out = pipe.generateDdim(2, 4, 0f, 7, null, (i, t, x, x0) -> {
            seen.add(t);
            if (i == 0) {
                firstX0[0] = x0.toFloatArray();
            }
        })) {
            assertEquals(List.of(750L, 500L, 250L, 0L), seen);
            assertEquals(pipe.sampleShape(2), out.images().getShape());
            assertTrue(out.images().max().getFloat() <= 1f && out.images().min().getFloat() >= -1f);
            assertEquals(2 * (16 + 2) + 2, out.grid().getWidth());
        }
        // by hand: the first step's x0 from the same noise
        try (NDManager m = manager.newSubManager()) {
            DDIMScheduler s = pipe.ddimScheduler();
            s.setTimesteps(4);
            NDArray x = new SeededNoise(7).randn(m, pipe.sampleShape(2));
            SchedulerOutput o = s.step(pipe.unet().forward(x, 750, null), 750, x, 0f, (NDArray) null);
            assertArrayEquals(o.predOriginalSample().toFloatArray(), firstX0[0], 1e-6f);
        }
        // every step's arrays are freed: nothing is left behind in the caller's manager (nor the model's)
        assertEquals(before, manager.getManagedArrays().size());
    }

    @Test
    void ddpmSamplingIsSeeded() {
        try (PipelineOutput a = pipe.generate(1, 5, 11); PipelineOutput b = pipe.generate(1, 5, 11);
                PipelineOutput c = pipe.generate(1, 5, 12)) {
            assertArrayEquals(a.images().toFloatArray(), b.images().toFloatArray(), 0f);
            assertFalse(java.util.Arrays.equals(a.images().toFloatArray(), c.images().toFloatArray()));
        }
    }

    @Test
    void foldersThatAreNotModelsAreExplained(@TempDir Path tmp) throws Exception {
        var e = assertThrows(CheckpointException.class, () -> DiffusionPipeline.fromPretrained(tmp, manager));
        assertTrue(e.getMessage().contains("neither a pipeline folder"), e.getMessage());
        Files.writeString(tmp.resolve("model_index.json"), "{}");
        var e2 = assertThrows(CheckpointException.class, () -> DiffusionPipeline.fromPretrained(tmp, manager));
        assertTrue(e2.getMessage().contains("no unet/"), e2.getMessage());
    }
}
