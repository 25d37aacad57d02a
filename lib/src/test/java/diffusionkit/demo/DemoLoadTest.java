package diffusionkit.demo;

import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static diffusionkit.demo.DemoServerTest.burst;
import static diffusionkit.demo.DemoServerTest.errorOf;
import static diffusionkit.demo.DemoServerTest.get;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The demo under load with the real thing: {@link ColorGuidedGenerator} on the kit's base model
 * ({@code datasets/models/emoji-base}, 32x32, 2.7 M parameters) with few DDIM steps, so that PyTorch's native
 * memory is allocated and freed by every request. A burst of 50 requests from 8 clients (each gets an image or a
 * clear busy answer, none is lost), then a sustained run of 24 images from 2 clients (one generating, one queued).
 * Memory is bounded twice: the model manager's array count comes back exactly (every request's arrays are freed),
 * and the process's resident set size (VmRSS) grows by less than {@link #RSS_BOUND_BYTES}.
 */
class DemoLoadTest {

    static final Path MODEL = Path.of("../datasets/models/emoji-base");
    static final int STEPS = 8;
    static final int QUEUE = 2;
    /**
     * Resident set growth allowed from after the warm-up to the end. Measured without a leak: +20 to +60 MB, and
     * up to +100 MB at a peak between rounds of a longer run (glibc's per-thread arenas and the JIT grow and shrink;
     * the Java heap stayed at 68 MB committed). A leak of 8 MB per request measured +635 MB here.
     */
    static final long RSS_BOUND_BYTES = 160L << 20;

    @Test
    void burstAndSustainedLoadOnTheBaseModelStayBounded() throws Exception {
        long t0 = System.nanoTime();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try (NDManager m = NDManager.newBaseManager();
                DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(MODEL, m);
                DemoServer s = new DemoServer(new ColorGuidedGenerator(pipe, 64), "emoji-base", DemoServer.loopback(0),
                        QUEUE).start()) {
            // warm-up: layers cache constants on first use, the JIT compiles, the allocators reach their working
            // size, and the client and handler threads exist (a small burst)
            assertImage(get(s, "/api/generate?color=44CCAA&scale=5&steps=" + STEPS + "&seed=1000"));
            int[] warm = burst(s, clients, 16, seed -> "color=44CCAA&scale=5&steps=" + STEPS + "&seed=" + (2000 + seed),
                    DemoLoadTest::assertImage, 120);
            int arraysBefore = m.getManagedArrays().size();
            long rssBefore = rssAfterGc();

            // the burst: 50 requests from 8 clients at once
            long servedBefore = s.served();
            long busyBefore = s.busyAnswers();
            int[] b = burst(s, clients, 50, seed -> "color=55FFAA&scale=3&steps=" + STEPS + "&seed=" + seed,
                    DemoLoadTest::assertImage, 120);
            int ok = b[0];
            int busy = b[1];
            assertEquals(50, ok + busy, "every request was answered");
            assertEquals(ok, s.served() - servedBefore);
            assertEquals(busy, s.busyAnswers() - busyBefore);
            assertTrue(ok >= 1 + QUEUE, "at least the running and the queued requests are served: " + ok);
            long rssAfterBurst = rssAfterGc();

            // sustained: 2 clients, 12 requests each, never more than 1 + QUEUE at once, so none is busy
            List<Future<Integer>> sustained = new ArrayList<>();
            for (int c = 0; c < 2; c++) {
                int client = c;
                sustained.add(clients.submit(() -> {
                    int images = 0;
                    for (int k = 0; k < 12; k++) {
                        assertImage(get(s, "/api/generate?color=BB2266&scale=3&steps=" + STEPS + "&seed=" + (100 * client + k)));
                        images++;
                    }
                    return images;
                }));
            }
            for (Future<Integer> f : sustained) {
                assertEquals(12, f.get(120, TimeUnit.SECONDS));
            }
            long rssAfter = rssAfterGc();

            // the server is still up and answers normally; every array of every request was freed
            assertEquals(200, get(s, "/api/status").statusCode());
            assertImage(get(s, "/api/generate?steps=2"));
            assertEquals(arraysBefore, m.getManagedArrays().size(), "arrays left behind in the model's manager");
            long grown = rssAfter - rssBefore;
            System.out.printf("demo load on emoji-base (%d steps): warm-up burst %d images + %d busy; burst %d images +"
                            + " %d busy, then 24 images; VmRSS %d MB after warm-up, %d MB after the burst, %d MB after"
                            + " all (%+d MB); %.1f s%n", STEPS, warm[0], warm[1], ok, busy, rssBefore >> 20,
                    rssAfterBurst >> 20, rssAfter >> 20, grown >> 20, (System.nanoTime() - t0) / 1e9);
            assertTrue(grown < RSS_BOUND_BYTES, "the resident set grew by " + (grown >> 20) + " MB over "
                    + (ok + 24) + " images (bound " + (RSS_BOUND_BYTES >> 20) + " MB)");
        } finally {
            clients.shutdownNow();
        }
    }

    private static void assertImage(HttpResponse<byte[]> r) throws Exception {
        assertEquals(200, r.statusCode(), () -> errorOf(r));
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(r.body()));
        assertNotNull(img, "a PNG");
        assertEquals(64, img.getWidth(), "32 pixels enlarged twice");
    }

    /** The process's resident set size (VmRSS of /proc/self/status) after a garbage collection, in bytes. */
    static long rssAfterGc() throws Exception {
        System.gc();
        Path status = Path.of("/proc/self/status");
        assertTrue(Files.isReadable(status), "the load test reads the resident set size from " + status + " (Linux)");
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;   // "VmRSS:   123456 kB"
            }
        }
        throw new AssertionError("no VmRSS line in " + status);
    }
}
