package diffusionkit.hub;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.io.Safetensors;
import diffusionkit.pipelines.DDIMPipeline;
import diffusionkit.pipelines.DDPMPipeline;
import diffusionkit.schedulers.DDPMScheduler;
import diffusionkit.schedulers.Scheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Models by hub id, end to end: {@code DDPMPipeline.fromPretrained("org/name")} through the process's settings (here
 * system properties named as huggingface_hub's environment variables), from the loopback hub and from a cache written
 * by Python's huggingface_hub itself; the loaded UNet gives diffusers' output.
 */
class HubModelsTest {

    /** A cache written by huggingface_hub 0.30.2 (environment/reference/hub_interop.py download): symlinks, refs, blobs. */
    static final Path PYTHON_CACHE = Paths.get("src/test/resources/hub/python-cache");
    static final Path IO = Paths.get("src/test/resources/vectors/unet_a/io.safetensors");

    private final List<String> properties = new ArrayList<>();

    private void setProperty(String k, String v) {
        properties.add(k);
        System.setProperty(k, v);
    }

    @AfterEach
    void clearProperties() {
        properties.forEach(System::clearProperty);
    }

    /** The UNet's output on diffusers' recorded input, against diffusers' recorded output. */
    static double diffFromDiffusers(DDPMPipeline pipe) throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> io = Safetensors.read(IO, m);
            NDArray out = pipe.unet().forward(io.get("b2/sample"), io.get("b2/timestep"), null, false);
            return out.sub(io.get("b2/out_sample")).abs().max().getFloat();
        }
    }

    @Test
    void aCacheWrittenByPythonsHuggingfaceHubIsFoundByIdOffline(@TempDir Path tmp) throws Exception {
        assertTrue(Files.isSymbolicLink(PYTHON_CACHE.resolve("models--kit-test--tiny-ddpm/snapshots")
                .resolve(Files.readString(PYTHON_CACHE.resolve("models--kit-test--tiny-ddpm/refs/main")))
                .resolve("unet/diffusion_pytorch_model.safetensors")), "the fixture is huggingface_hub's layout, links and all");
        setProperty("HF_HUB_CACHE", PYTHON_CACHE.toAbsolutePath().toString());
        setProperty("HF_HUB_OFFLINE", "1");
        setProperty("HF_ENDPOINT", "http://127.0.0.1:9"); // nothing listens: any request would fail
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                DDPMPipeline pipe = DDPMPipeline.fromPretrained(HubTest.ID, manager)) {
            double diff = diffFromDiffusers(pipe);
            assertTrue(diff <= 1e-4, "max |unet - diffusers| = " + diff);
            assertInstanceOf(DDPMScheduler.class, pipe.scheduler());
            assertEquals("linear", pipe.scheduler().config().betaSchedule());
        }
        // the scheduler alone, as DDPMScheduler.from_pretrained(id, subfolder="scheduler")
        assertEquals(1000, Scheduler.fromPretrained(HubTest.ID).numTrainTimesteps());
        // a model that Python never downloaded: the offline error
        HubException e = assertThrows(HubException.class, () -> DDPMPipeline.fromPretrained("google/ddpm-celebahq-256"));
        assertEquals(HubException.Reason.NOT_IN_CACHE, e.reason());
    }

    @Test
    void fromPretrainedByIdDownloadsIntoTheCacheAndLoads(@TempDir Path cache) throws Exception {
        try (LoopbackHub server = new LoopbackHub()) {
            HubTest.tinyPipeline(server, HubTest.ID);
            setProperty("HF_ENDPOINT", server.endpoint());
            setProperty("HF_HUB_CACHE", cache.toString());
            try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                    DDIMPipeline pipe = DDIMPipeline.fromPretrained(HubTest.ID, manager)) {
                double diff = diffFromDiffusers(new DDPMPipeline(pipe.unet(), pipe.scheduler()));
                assertTrue(diff <= 1e-4, "max |unet - diffusers| = " + diff);
            }
            assertTrue(Files.isDirectory(cache.resolve("models--kit-test--tiny-ddpm/snapshots")));
            // the process's settings say offline now: the same id loads with the hub gone
            server.close();
            setProperty("HF_HUB_OFFLINE", "1");
            try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                    DDPMPipeline pipe = DDPMPipeline.fromPretrained(HubTest.ID, manager)) {
                assertTrue(diffFromDiffusers(pipe) <= 1e-4);
            }
        }
    }

    @Test
    void theCommandsTakeAHubId(@TempDir Path tmp) throws Exception {
        try (LoopbackHub server = new LoopbackHub()) {
            HubTest.tinyPipeline(server, HubTest.ID);
            setProperty("HF_ENDPOINT", server.endpoint());
            setProperty("HF_HUB_CACHE", tmp.resolve("cache").toString());
            Path png = tmp.resolve("grid.png");
            java.io.StringWriter err = new java.io.StringWriter();
            picocli.CommandLine cl = diffusionkit.cli.Main.commandLine();
            cl.setErr(new java.io.PrintWriter(err));
            int code = cl.execute("sample", "--model", HubTest.ID, "--num_images", "1", "--steps", "2", "--upscale", "1",
                    "--output", png.toString(), "--device", "cpu");
            assertEquals(0, code, err.toString());
            assertEquals(16 + 2 * 2, javax.imageio.ImageIO.read(png.toFile()).getWidth(), "one 16-pixel sample of unet_a, padded");

            cl = diffusionkit.cli.Main.commandLine();
            err = new java.io.StringWriter();
            cl.setErr(new java.io.PrintWriter(err));
            assertNotEquals(0, cl.execute("sample", "--model", "kit-test/missing", "--output", png.toString()));
            assertTrue(err.toString().contains("--model 'kit-test/missing': the hub has no repository kit-test/missing"),
                    err.toString());
        }
    }
}
