package diffusionkit.demo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.*;

class DemoServerTest {

    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A generator that reports every step, waits {@code millis} and paints the requested colour. */
    static ImageGenerator painter(long millis) {
        return (r, progress) -> {
            for (int i = 1; i <= r.steps(); i++) {
                progress.accept(i);
            }
            Thread.sleep(millis);   // stands for the work; no test outcome depends on its length
            return paint(r);
        };
    }

    /** Like {@link #painter}, and takes prompts: the image's colour is the prompt's length in the red channel. */
    static ImageGenerator promptPainter() {
        return new ImageGenerator() {
            @Override
            public BufferedImage generate(DemoRequest r, java.util.function.IntConsumer progress) {
                BufferedImage img = paint(r);
                img.setRGB(0, 0, r.prompt().length() << 16);
                return img;
            }

            @Override
            public boolean takesPrompts() {
                return true;
            }
        };
    }

    /** An 8x8 image of the requested colour. */
    static BufferedImage paint(DemoRequest r) {
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        int rgb = (Math.round(r.rgb()[0] * 255) << 16) | (Math.round(r.rgb()[1] * 255) << 8) | Math.round(r.rgb()[2] * 255);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    static HttpResponse<byte[]> get(DemoServer s, String pathAndQuery) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static CompletableFuture<HttpResponse<byte[]>> getAsync(DemoServer s, String pathAndQuery) {
        return CLIENT.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonObject status(DemoServer s) throws Exception {
        return JsonParser.parseString(new String(get(s, "/api/status").body())).getAsJsonObject();
    }

    /** Polls /api/status until {@code condition} holds; fails after 60 s with {@code what}. */
    static JsonObject awaitStatus(DemoServer s, Predicate<JsonObject> condition, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonObject o = status(s);
        while (!condition.test(o)) {
            if (System.nanoTime() > deadline) {
                fail("waited 60 s for " + what + "; the status is " + o);
            }
            Thread.sleep(10);   // a poll interval, not a guess: the loop ends on the condition or the deadline
            o = status(s);
        }
        return o;
    }

    /** A check of a 200 answer. */
    interface ResponseCheck {
        void check(HttpResponse<byte[]> r) throws Exception;
    }

    /**
     * {@code n} requests from {@code clients}, released together ({@code query} gives request i's query string);
     * each must be an image (checked by {@code image}) or a 503 "busy" with Retry-After, within
     * {@code timeoutSeconds}. Returns {images, busy answers}.
     */
    static int[] burst(DemoServer s, ExecutorService clients, int n, IntFunction<String> query,
            ResponseCheck image, long timeoutSeconds) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String q = query.apply(i);
            answers.add(clients.submit(() -> {
                go.await();
                HttpResponse<byte[]> r = get(s, "/api/generate?" + q);
                if (r.statusCode() == 200) {
                    image.check(r);
                } else {
                    assertEquals(503, r.statusCode(), () -> errorOf(r));
                    assertTrue(errorOf(r).startsWith("busy"), errorOf(r));
                    assertTrue(r.headers().firstValue("Retry-After").isPresent());
                }
                return r.statusCode();
            }));
        }
        go.countDown();
        int ok = 0;
        int busy = 0;
        for (Future<Integer> f : answers) {
            try {
                if (f.get(timeoutSeconds, TimeUnit.SECONDS) == 200) {
                    ok++;
                } else {
                    busy++;
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Error err) {
                    throw err; // an assertion that failed in a client
                }
                throw e.getCause() instanceof Exception c ? c : e;
            }
        }
        return new int[] {ok, busy};
    }

    static String errorOf(HttpResponse<byte[]> r) {
        JsonObject o = JsonParser.parseString(new String(r.body())).getAsJsonObject();
        return o.get("error").getAsString();
    }

    @Test
    void servesThePageAndAnImageWithOrWithoutTheHash() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 2).start()) {
            HttpResponse<byte[]> page = get(s, "/");
            assertEquals(200, page.statusCode());
            String html = new String(page.body());
            assertTrue(html.contains("id=\"generate\"") && html.contains("#BB2266") && html.contains("#44CCAA"));
            assertFalse(html.contains("http://") || html.contains("https://"), "the page loads nothing from elsewhere");
            for (String c : new String[] {"%2355ffaa", "55FFAA"}) {
                HttpResponse<byte[]> img = get(s, "/api/generate?color=" + c + "&scale=3&steps=5&seed=1");
                assertEquals(200, img.statusCode());
                assertEquals("image/png", img.headers().firstValue("Content-Type").orElse(""));
                BufferedImage b = ImageIO.read(new ByteArrayInputStream(img.body()));
                assertEquals(0x55FFAA, b.getRGB(0, 0) & 0xFFFFFF);
            }
            assertEquals(2, s.served());
            assertTrue(s.url().startsWith("http://127.0.0.1:"));
        }
    }

    @Test
    void eachInvalidInputIsA400WithAMessage() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 2).start()) {
            String[][] cases = {
                    {"color=zz00zz", "is not a colour"},
                    {"color=%23FFF", "is not a colour"},
                    {"scale=31", "scale 31 is out of range"},
                    {"scale=-1", "scale -1 is out of range"},
                    {"scale=abc", "scale 'abc' is not a number"},
                    {"scale=NaN", "is not a number"},
                    {"steps=0", "steps 0 is out of range"},
                    {"steps=101", "steps 101 is out of range"},
                    {"steps=2.5", "steps '2.5' is not a whole number"},
                    {"steps=abc", "steps 'abc' is not a whole number: use 1 to 100"},
                    {"steps=99999999999", "steps 99999999999 is out of range: use 1 to 100"},
                    {"seed=abc", "seed 'abc' is not a whole number"},
                    {"seed=99999999999999999999", "seed 99999999999999999999 is out of range: use a whole number from"},
                    {"seed=4.5", "seed '4.5' is not a whole number"},
                    {"color=%FF%FE", "is not a colour"},       // bytes that are no UTF-8 decode to U+FFFD
            };
            for (String[] c : cases) {
                HttpResponse<byte[]> r = get(s, "/api/generate?" + c[0]);
                assertEquals(400, r.statusCode(), c[0]);
                assertTrue(errorOf(r).contains(c[1]), c[0] + " -> " + errorOf(r));
            }
            assertEquals(0, s.served());
        }
    }

    @Test
    void aPromptIsCheckedAndReachesTheGenerator() throws Exception {
        try (DemoServer s = new DemoServer(promptPainter(), "test", DemoServer.loopback(0), 2).start()) {
            String[][] cases = {
                    {"prompt=" + "a".repeat(81), "the prompt has 81 characters: use at most 80"},
                    {"prompt=a%3Cscript%3E", "the prompt contains '<'"},
                    {"prompt=red%00heart", "the prompt contains U+0000"},
                    {"prompt=red&prompt_scale=101", "prompt_scale 101 is out of range: use a number from 0 to 100"},
                    {"prompt=red&prompt_scale=abc", "prompt_scale 'abc' is not a number: use a number from 0 to 100"},
            };
            for (String[] c : cases) {
                HttpResponse<byte[]> r = get(s, "/api/generate?" + c[0]);
                assertEquals(400, r.statusCode(), c[0]);
                assertTrue(errorOf(r).contains(c[1]), c[0] + " -> " + errorOf(r));
            }
            assertEquals(0, s.served());
            // spaces around and between words are tidied; an empty prompt is none
            HttpResponse<byte[]> img = get(s, "/api/generate?prompt=%20a%20%20red%20heart%20&prompt_scale=10");
            assertEquals(200, img.statusCode(), () -> errorOf(img));
            assertEquals("a red heart".length(), ImageIO.read(new ByteArrayInputStream(img.body())).getRGB(0, 0) >> 16 & 0xFF);
            HttpResponse<byte[]> none = get(s, "/api/generate?prompt=");
            assertEquals(0, ImageIO.read(new ByteArrayInputStream(none.body())).getRGB(0, 0) >> 16 & 0xFF);
            JsonObject info = JsonParser.parseString(new String(get(s, "/api/info").body())).getAsJsonObject();
            assertTrue(info.get("prompts").getAsBoolean());
        }
    }

    @Test
    void aPromptToADemoWithoutClipIsA400() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 2).start()) {
            HttpResponse<byte[]> r = get(s, "/api/generate?prompt=a+red+heart");
            assertEquals(400, r.statusCode());
            assertTrue(errorOf(r).contains("has no CLIP model"), errorOf(r));
            assertEquals(0, s.served());
            JsonObject info = JsonParser.parseString(new String(get(s, "/api/info").body())).getAsJsonObject();
            assertFalse(info.get("prompts").getAsBoolean());
        }
    }

    @Test
    void requestDataNeverReachesFiles() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 2).start()) {
            for (String p : new String[] {"/../../etc/passwd", "/pom.xml", "/api/../etc/hostname", "/index.html/.."}) {
                HttpResponse<byte[]> r = get(s, p);
                String body = new String(r.body());
                boolean thePage = r.statusCode() == 200 && body.contains("Guided diffusion");
                assertTrue(r.statusCode() == 404 || thePage, p + " -> " + r.statusCode());
                assertFalse(body.contains("root:") || body.contains("<project"), p);
            }
            HttpResponse<byte[]> post = CLIENT.send(HttpRequest.newBuilder(URI.create(s.url() + "api/generate"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(405, post.statusCode());
        }
    }

    /** 50 requests from 8 clients against a queue of 2: each gets an image or a clear busy answer; none is lost. */
    @Test
    void boundedLoadEveryRequestGetsAnImageOrBusy() throws Exception {
        try (DemoServer s = new DemoServer(painter(20), "test", DemoServer.loopback(0), 2).start()) {
            ExecutorService clients = Executors.newFixedThreadPool(8);
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long heapBefore = rt.totalMemory() - rt.freeMemory();
            int[] answers = burst(s, clients, 50, seed -> "color=44CCAA&scale=5&steps=3&seed=" + seed,
                    r -> assertNotNull(ImageIO.read(new ByteArrayInputStream(r.body()))), 60);
            int ok = answers[0];
            int busy = answers[1];
            clients.shutdown();
            assertEquals(50, ok + busy);
            assertEquals(ok, s.served());
            assertEquals(busy, s.busyAnswers());
            assertTrue(ok >= 3, "at least the running and the queued requests are served: " + ok);
            // the server is still up and answers normally
            assertEquals(200, get(s, "/api/status").statusCode());
            assertEquals(200, get(s, "/api/generate?steps=2").statusCode());
            System.gc();
            long heapAfter = rt.totalMemory() - rt.freeMemory();
            assertTrue(heapAfter - heapBefore < 64L << 20, "heap grew by " + (heapAfter - heapBefore) + " bytes");
        }
    }

    @Test
    void infoNamesTheDefaultsAndTheCoursesExamples() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "emoji-base", DemoServer.loopback(0), 1).start()) {
            JsonObject info = JsonParser.parseString(new String(get(s, "/api/info").body())).getAsJsonObject();
            assertEquals("emoji-base", info.get("model").getAsString());
            assertEquals("#55FFAA", info.getAsJsonObject("defaults").get("color").getAsString());
            assertEquals(3.0, info.getAsJsonObject("defaults").get("scale").getAsDouble());
            assertEquals("[[\"#BB2266\",3],[\"#44CCAA\",5]]", info.get("examples").toString());
        }
    }

    /** The page's encoding cannot produce it, but a hand-written URL can: a 400, and the server stays up. */
    @Test
    void malformedPercentEncodingIsA400() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 1).start()) {
            // the JDK's HTTP server refuses a request line that is no URI before the demo sees it
            for (String q : new String[] {"color=%zz", "color=%", "seed=%4"}) {
                String answer = raw(s, "GET /api/generate?" + q + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                assertTrue(answer.startsWith("HTTP/1.1 400"), q + " -> " + answer);
            }
            assertEquals(0, s.served());
            assertEquals(200, get(s, "/api/generate?steps=2").statusCode());
        }
        // the demo's own decoder says what is wrong and how to write it
        DemoRequest.BadRequest e = assertThrows(DemoRequest.BadRequest.class, () -> DemoServer.query("color=%zz&scale=3"));
        assertEquals("the query string is not URL-encoded properly near 'color=%zz': write '%' as %25 and other"
                + " special characters as %XX (two hex digits).", e.getMessage());
        assertEquals("#55FFAA", DemoServer.query("color=%2355ffaa&scale=3").get("color").toUpperCase());
    }

    /** Sends {@code request} as is and returns the whole answer. */
    static String raw(DemoServer s, String request) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", s.port())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void headOnGenerateIs405AndGeneratesNothing() throws Exception {
        Gate gate = new Gate(0);
        gate.open();
        try (DemoServer s = new DemoServer(gate, "test", DemoServer.loopback(0), 1).start()) {
            HttpResponse<byte[]> head = CLIENT.send(HttpRequest.newBuilder(URI.create(s.url() + "api/generate?steps=2"))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(405, head.statusCode());
            assertEquals("GET", head.headers().firstValue("Allow").orElse(""));
            HttpResponse<byte[]> pageHead = CLIENT.send(HttpRequest.newBuilder(URI.create(s.url()))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, pageHead.statusCode());
            assertEquals(0, pageHead.body().length);
            HttpResponse<byte[]> delete = CLIENT.send(HttpRequest.newBuilder(URI.create(s.url() + "api/generate"))
                    .DELETE().build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(405, delete.statusCode());
            assertTrue(errorOf(delete).startsWith("DELETE is not served here: use GET"), errorOf(delete));
            assertEquals(0, gate.calls.get(), "no image was generated");
            assertEquals(0, s.served());
        }
    }

    @Test
    void infoShowsTheModelsFolderNameNotAServerPath() throws Exception {
        String path = "/home/someone/kit/datasets/models/emoji-base/";
        try (DemoServer s = new DemoServer(painter(0), path, DemoServer.loopback(0), 1).start()) {
            String body = new String(get(s, "/api/info").body());
            JsonObject info = JsonParser.parseString(body).getAsJsonObject();
            assertEquals("emoji-base", info.get("model").getAsString());
            assertFalse(body.contains("/home"), body);
        }
        assertEquals("unet_a", DemoServer.displayName("C:\\models\\unet_a"));
        assertEquals("emoji-base (reloaded)", DemoServer.displayName("emoji-base (reloaded)"));
        assertEquals("unnamed model", DemoServer.displayName("/"));
    }

    /**
     * The running request and the queued ones hold every slot: the next request is told 503 "busy" with
     * Retry-After at once, and when the generator is released every held request gets its image.
     */
    @ParameterizedTest(name = "queue {0}")
    @ValueSource(ints = {0, 2})
    void aFullQueueAnswersBusyAndLosesNoHeldRequest(int queue) throws Exception {
        Gate gate = new Gate(1);
        try (DemoServer s = new DemoServer(gate, "test", DemoServer.loopback(0), queue).start()) {
            List<CompletableFuture<HttpResponse<byte[]>>> held = new ArrayList<>();
            held.add(getAsync(s, "/api/generate?steps=3&seed=0"));
            assertTrue(gate.awaitStarted(), "the first request reached the generator");
            for (int i = 1; i <= queue; i++) {
                held.add(getAsync(s, "/api/generate?steps=3&seed=" + i));
            }
            awaitStatus(s, o -> o.get("running").getAsBoolean() && o.get("waiting").getAsInt() == queue,
                    queue + " request(s) waiting behind the running one");
            HttpResponse<byte[]> busy = get(s, "/api/generate?steps=3&seed=99");
            assertEquals(503, busy.statusCode());
            assertTrue(errorOf(busy).startsWith("busy"), errorOf(busy));
            assertEquals("5", busy.headers().firstValue("Retry-After").orElse("none"));
            assertEquals(1, s.busyAnswers());
            assertEquals(1, gate.calls.get(), "only the first request has started");
            gate.open();
            for (CompletableFuture<HttpResponse<byte[]>> f : held) {
                HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode());
                assertNotNull(ImageIO.read(new ByteArrayInputStream(r.body())));
            }
            assertEquals(1 + queue, s.served());
            assertEquals(1 + queue, gate.calls.get());
            assertEquals(200, get(s, "/api/generate?steps=3&seed=100").statusCode(), "the slots are free again");
        }
    }

    /** While an image is made, /api/status says which step of how many, and how many wait. */
    @Test
    void statusReportsTheStepWhileGenerating() throws Exception {
        Gate gate = new Gate(2);
        try (DemoServer s = new DemoServer(gate, "test", DemoServer.loopback(0), 1).start()) {
            JsonObject idle = status(s);
            assertFalse(idle.get("running").getAsBoolean());
            CompletableFuture<HttpResponse<byte[]>> first = getAsync(s, "/api/generate?steps=5&seed=0");
            assertTrue(gate.awaitStarted());
            JsonObject o = status(s);
            assertTrue(o.get("running").getAsBoolean(), o.toString());
            assertEquals(2, o.get("step").getAsInt(), o.toString());
            assertEquals(5, o.get("steps").getAsInt(), o.toString());
            CompletableFuture<HttpResponse<byte[]>> second = getAsync(s, "/api/generate?steps=4&seed=1");
            awaitStatus(s, x -> x.get("waiting").getAsInt() == 1, "the second request waiting");
            gate.open();
            assertEquals(200, first.get(60, TimeUnit.SECONDS).statusCode());
            assertEquals(200, second.get(60, TimeUnit.SECONDS).statusCode());
            JsonObject done = awaitStatus(s, x -> !x.get("running").getAsBoolean(), "the worker idle");
            assertEquals(4, done.get("step").getAsInt(), "the last generation reported all its steps: " + done);
            assertEquals(4, done.get("steps").getAsInt());
            assertEquals(2, done.get("served").getAsInt());
            assertEquals(0, done.get("waiting").getAsInt());
        }
    }

    /**
     * A request that gets no image within the timeout is told 503 "timed out", whether its generation was running
     * (it is stopped at its next step) or still queued (it never starts); the slots come back.
     */
    @Test
    void aTimedOutRequestIsAnswered503AndItsGenerationStopped() throws Exception {
        Gate gate = new Gate(1);
        try (DemoServer s = new DemoServer(gate, "test", DemoServer.loopback(0), 1, Duration.ofMillis(300)).start()) {
            CompletableFuture<HttpResponse<byte[]>> running = getAsync(s, "/api/generate?steps=3&seed=0");
            assertTrue(gate.awaitStarted());
            CompletableFuture<HttpResponse<byte[]>> queued = getAsync(s, "/api/generate?steps=3&seed=1");
            for (CompletableFuture<HttpResponse<byte[]>> f : List.of(running, queued)) {
                HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);   // the held generation never ends by itself
                assertEquals(503, r.statusCode());
                assertTrue(errorOf(r).startsWith("timed out: no image after 300 ms"), errorOf(r));
                assertTrue(errorOf(r).contains("Try fewer steps"), errorOf(r));
                assertEquals("5", r.headers().firstValue("Retry-After").orElse("none"));
            }
            assertEquals(2, s.timeouts());
            gate.open();
            assertTrue(gate.awaitEnded());
            assertEquals(1, gate.stopped.get(), "the held generation was stopped at its next step");
            assertEquals(1, gate.calls.get(), "the queued request never started");
            awaitStatus(s, o -> !o.get("running").getAsBoolean() && o.get("waiting").getAsInt() == 0, "the worker idle");
            HttpResponse<byte[]> next = get(s, "/api/generate?steps=3&seed=2");
            assertEquals(200, next.statusCode(), () -> errorOf(next));
            assertEquals(1, s.served());
        }
    }

    /** Closing the server stops the running generation at its next step, so the model can be freed after. */
    @Test
    void closeStopsTheRunningGenerationBeforeReturning() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch ended = new CountDownLatch(1);
        AtomicReference<Throwable> stoppedBy = new AtomicReference<>();
        ImageGenerator endless = (r, progress) -> {     // reports step 1 over and over until told to stop
            started.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            try {
                while (System.nanoTime() < deadline) {
                    progress.accept(1);
                    Thread.onSpinWait();
                }
                throw new IllegalStateException("the server never stopped this generation");
            } catch (RuntimeException e) {
                stoppedBy.set(e);
                throw e;
            } finally {
                ended.countDown();
            }
        };
        DemoServer s = new DemoServer(endless, "test", DemoServer.loopback(0), 1).start();
        CompletableFuture<HttpResponse<byte[]>> r = getAsync(s, "/api/generate?steps=3&seed=0");
        assertTrue(started.await(60, TimeUnit.SECONDS));
        s.close();
        assertEquals(0, ended.getCount(), "close() returned only after the generation ended");
        assertInstanceOf(java.util.concurrent.CancellationException.class, stoppedBy.get());
        assertEquals("the server is shutting down", stoppedBy.get().getMessage());
        try {
            HttpResponse<byte[]> answer = r.get(60, TimeUnit.SECONDS);
            assertEquals(503, answer.statusCode());
        } catch (ExecutionException e) {
            // the connection was closed with the server: also no image
        }
    }
}
