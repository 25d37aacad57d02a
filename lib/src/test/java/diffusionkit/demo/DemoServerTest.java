package diffusionkit.demo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class DemoServerTest {

    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A generator that paints the requested colour, scaled by scale/30, after {@code millis}. */
    static ImageGenerator painter(long millis) {
        return (r, progress) -> {
            for (int i = 1; i <= r.steps(); i++) {
                progress.accept(i);
            }
            Thread.sleep(millis);
            BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
            int rgb = (Math.round(r.rgb()[0] * 255) << 16) | (Math.round(r.rgb()[1] * 255) << 8) | Math.round(r.rgb()[2] * 255);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    img.setRGB(x, y, rgb);
                }
            }
            return img;
        };
    }

    static HttpResponse<byte[]> get(DemoServer s, String pathAndQuery) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
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
    void requestDataNeverReachesFiles() throws Exception {
        try (DemoServer s = new DemoServer(painter(0), "test", DemoServer.loopback(0), 2).start()) {
            for (String p : new String[] {"/../../etc/passwd", "/pom.xml", "/api/../etc/hostname", "/index.html/.."}) {
                HttpResponse<byte[]> r = get(s, p);
                String body = new String(r.body());
                boolean thePage = r.statusCode() == 200 && body.contains("Colour-guided");
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
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> answers = new ArrayList<>();
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long heapBefore = rt.totalMemory() - rt.freeMemory();
            for (int i = 0; i < 50; i++) {
                int seed = i;
                answers.add(clients.submit(() -> {
                    go.await();
                    HttpResponse<byte[]> r = get(s, "/api/generate?color=44CCAA&scale=5&steps=3&seed=" + seed);
                    if (r.statusCode() == 200) {
                        assertNotNull(ImageIO.read(new ByteArrayInputStream(r.body())));
                    } else {
                        assertEquals(503, r.statusCode());
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
                int code = f.get(60, TimeUnit.SECONDS);
                if (code == 200) {
                    ok++;
                } else {
                    busy++;
                }
            }
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
}
