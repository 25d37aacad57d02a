package diffusionkit.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/** {@code ./kit demo}: its defaults, its model and address options, and its errors, run in this process on port 0. */
class DemoCommandTest {

    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final Path UNET_A = Path.of("src/test/resources/vectors/unet_a");

    /** The parsed command, with its output and error text captured. */
    record Parsed(DemoCommand command, StringWriter out, StringWriter err) {}

    static Parsed parse(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 1];
        all[0] = "demo";
        System.arraycopy(args, 0, all, 1, args.length);
        CommandLine.ParseResult pr = cl.parseArgs(all);
        return new Parsed((DemoCommand) pr.subcommand().commandSpec().userObject(), out, err);
    }

    static HttpResponse<byte[]> get(String url) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void defaultsAreTheBaseModelOnLoopbackPort7860() {
        DemoCommand c = parse().command();
        assertEquals("emoji-base", c.model);
        assertEquals(7860, c.port);
        assertEquals("127.0.0.1", c.bind);
        assertEquals(4, c.queue);
        assertEquals(256, c.displaySize);
    }

    /**
     * With no --model, --clip and --bind: the kit's base model and emoji CLIP on 127.0.0.1, an image of it with and
     * without a prompt, no warning.
     */
    @Test
    void startsTheBaseModelOnLoopbackAndServesAnImage() throws Exception {
        Parsed p = parse("--port", "0");
        try (DemoCommand.Running demo = p.command().start()) {
            assertTrue(demo.server().address().getAddress().isLoopbackAddress());
            assertNotEquals(0, demo.server().port());
            String url = demo.server().url();
            assertTrue(url.startsWith("http://127.0.0.1:"), url);
            assertEquals("diffusion-kit demo: " + url + "  (model emoji-base, prompts through emoji-clip; Ctrl-C to stop)",
                    p.out().toString().strip());
            assertEquals("", p.err().toString(), "no warning on the loopback address");
            JsonObject info = JsonParser.parseString(new String(get(url + "api/info").body())).getAsJsonObject();
            assertEquals("emoji-base", info.get("model").getAsString());
            HttpResponse<byte[]> img = get(url + "api/generate?color=55FFAA&scale=3&steps=2&seed=0");
            assertEquals(200, img.statusCode(), new String(img.body()));
            BufferedImage b = ImageIO.read(new ByteArrayInputStream(img.body()));
            assertEquals(256, b.getWidth(), "32 pixels enlarged 8 times (--display-size 256)");
            assertTrue(info.get("prompts").getAsBoolean());
            HttpResponse<byte[]> prompted = get(url + "api/generate?prompt=a+red+heart&steps=2&seed=0");
            assertEquals(200, prompted.statusCode(), new String(prompted.body()));
        }
    }

    /** --model with a diffusers folder: that model is served, and the page names its folder, not the server's path. */
    @Test
    void modelFolderIsServedUnderItsFolderName() throws Exception {
        Parsed p = parse("--port", "0", "--model", UNET_A.toAbsolutePath().toString(), "--queue", "0",
                "--display-size", "64", "--clip", "none");
        try (DemoCommand.Running demo = p.command().start()) {
            String url = demo.server().url();
            String infoText = new String(get(url + "api/info").body());
            JsonObject info = JsonParser.parseString(infoText).getAsJsonObject();
            assertEquals("unet_a", info.get("model").getAsString());
            assertFalse(infoText.contains(UNET_A.toAbsolutePath().getParent().toString()), infoText);
            assertEquals(0, info.getAsJsonObject("limits").get("queue").getAsInt());
            HttpResponse<byte[]> img = get(url + "api/generate?steps=2");
            assertEquals(200, img.statusCode(), new String(img.body()));
            assertEquals(64, ImageIO.read(new ByteArrayInputStream(img.body())).getWidth(), "16 pixels enlarged 4 times");
            assertFalse(info.get("prompts").getAsBoolean(), "--clip none");
            assertEquals(400, get(url + "api/generate?prompt=a+red+heart&steps=2").statusCode());
            assertTrue(p.out().toString().contains("no prompts"), p.out().toString());
        }
    }

    @Test
    void anUnknownModelNameIsAClearError() {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("demo", "--port", "0", "--model", "no-such-model");
        assertEquals(1, code);
        String e = err.toString();
        assertTrue(e.startsWith("error: --model 'no-such-model' is neither a folder, a kit model nor a hub id."), e);
        assertTrue(e.contains("emoji-base"), "the message lists the kit's models: " + e);
        assertTrue(e.contains("Or give a diffusers folder"), e);
    }

    @Test
    void badPortAndQueueAreClearErrors() {
        assertEquals("--port 70000 is not a port: use 0 to 65535 (0: any free one)",
                assertThrows(IllegalArgumentException.class, () -> parse("--port", "70000").command().start()).getMessage());
        assertEquals("--queue must be 0 or more, got -1",
                assertThrows(IllegalArgumentException.class, () -> parse("--queue", "-1").command().start()).getMessage());
    }

    /**
     * Only an explicit --bind leaves the loopback address, and then with a warning. (This binds all addresses of
     * the test machine for a moment, on a free port.)
     */
    @Test
    void aNonLoopbackBindIsExplicitAndWarned() throws Exception {
        Parsed p = parse("--port", "0", "--bind", "0.0.0.0", "--model", UNET_A.toString());
        try (DemoCommand.Running demo = p.command().start()) {
            assertTrue(demo.server().address().getAddress().isAnyLocalAddress());
            assertEquals("warning: --bind 0.0.0.0 makes the demo reachable from other machines (anyone who can reach"
                    + " this port can make the server generate images)", p.err().toString().strip());
            assertEquals(200, get("http://127.0.0.1:" + demo.server().port() + "/api/status").statusCode());
        }
    }
}
