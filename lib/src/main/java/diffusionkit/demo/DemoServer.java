package diffusionkit.demo;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The kit's answer to the course's Gradio demo: a small web app where a colour picker and a guidance scale produce
 * a colour-guided image. The page ({@code GET /}) is one client of a small HTTP API:
 * <ul>
 *   <li>{@code GET /api/generate?color=55FFAA&scale=3&steps=40&seed=0} → {@code image/png}; 400 with
 *       {@code {"error": ...}} for bad input; 503 with {@code {"error": "busy ..."}} when the queue is full.</li>
 *   <li>{@code GET /api/status} → {@code {"running": bool, "waiting": n, "step": k, "steps": n, "served": n}}.</li>
 *   <li>{@code GET /api/info} → the model, the defaults, the limits and the course's two examples.</li>
 * </ul>
 * Generation runs on one worker thread (one model, one image at a time); at most {@code queueCapacity} more
 * requests wait, further ones are told the server is busy. Request data never reaches the file system. The server
 * binds to the loopback address unless another one is given explicitly.
 */
public final class DemoServer implements AutoCloseable {

    private static final Gson GSON = new Gson();

    private final ImageGenerator generator;
    private final String modelName;
    private final HttpServer http;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> daemon(r, "demo-generate"));
    private final ExecutorService handlers;
    private final Semaphore slots;
    private final int queueCapacity;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger step = new AtomicInteger();
    private final AtomicInteger steps = new AtomicInteger();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong busyAnswers = new AtomicLong();
    private volatile boolean running;
    private final byte[] page;

    /**
     * A server for {@code generator}, not yet started.
     *
     * @param address where to listen; use {@link #loopback(int)} unless the demo should be reachable from elsewhere
     * @param queueCapacity how many requests may wait while one is generated
     */
    public DemoServer(ImageGenerator generator, String modelName, InetSocketAddress address, int queueCapacity)
            throws IOException {
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        }
        this.generator = generator;
        this.modelName = modelName;
        this.queueCapacity = queueCapacity;
        this.slots = new Semaphore(1 + queueCapacity);
        this.handlers = Executors.newFixedThreadPool(queueCapacity + 5, r -> daemon(r, "demo-http"));
        try (InputStream in = DemoServer.class.getResourceAsStream("/diffusionkit/demo/index.html")) {
            this.page = in.readAllBytes();
        }
        this.http = HttpServer.create(address, 64);
        http.setExecutor(handlers);
        http.createContext("/", this::handle);
    }

    /** 127.0.0.1 at {@code port} (0: any free port). */
    public static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    /** Starts serving. */
    public DemoServer start() {
        http.start();
        return this;
    }

    /** The port the server listens on. */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The page's address. */
    public String url() {
        return "http://" + http.getAddress().getAddress().getHostAddress() + ":" + port() + "/";
    }

    /** Images served so far. */
    public long served() {
        return served.get();
    }

    /** Requests answered "busy" so far. */
    public long busyAnswers() {
        return busyAnswers.get();
    }

    @Override
    public void close() {
        http.stop(0);
        worker.shutdownNow();
        handlers.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                json(ex, 405, error("only GET is served"));
                return;
            }
            switch (path) {
                case "/", "/index.html" -> send(ex, 200, "text/html; charset=utf-8", page);
                case "/api/info" -> json(ex, 200, info());
                case "/api/status" -> json(ex, 200, status());
                case "/api/generate" -> generate(ex);
                default -> json(ex, 404, error("no such page: " + path + " (the demo serves /, /api/generate, /api/status, /api/info)"));
            }
        } catch (RuntimeException e) {
            // the exchange is closed; nothing else can be sent
        }
    }

    private void generate(HttpExchange ex) throws IOException {
        DemoRequest req;
        try {
            req = DemoRequest.parse(query(ex.getRequestURI().getRawQuery()));
        } catch (DemoRequest.BadRequest e) {
            json(ex, 400, error(e.getMessage()));
            return;
        }
        if (!slots.tryAcquire()) {
            busyAnswers.incrementAndGet();
            ex.getResponseHeaders().add("Retry-After", "5");
            json(ex, 503, error("busy: one image is being generated and " + queueCapacity
                    + " more are waiting; try again in a few seconds"));
            return;
        }
        waiting.incrementAndGet();
        try {
            long t0 = System.nanoTime();
            Future<BufferedImage> f = worker.submit(() -> {
                waiting.decrementAndGet();
                running = true;
                step.set(0);
                steps.set(req.steps());
                try {
                    return generator.generate(req, step::set);
                } finally {
                    running = false;
                }
            });
            BufferedImage img = f.get();
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(img, "png", png);
            served.incrementAndGet();
            ex.getResponseHeaders().add("X-Generation-Ms", Long.toString((System.nanoTime() - t0) / 1_000_000));
            ex.getResponseHeaders().add("Cache-Control", "no-store");
            send(ex, 200, "image/png", png.toByteArray());
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            json(ex, 500, error("generation failed: " + (c.getMessage() != null ? c.getMessage() : c.toString())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            json(ex, 503, error("the server is shutting down"));
        } finally {
            slots.release();
        }
    }

    private JsonObject info() {
        JsonObject o = new JsonObject();
        o.addProperty("model", modelName);
        JsonObject d = new JsonObject();
        d.addProperty("color", DemoRequest.DEFAULT_COLOR);
        d.addProperty("scale", DemoRequest.DEFAULT_SCALE);
        d.addProperty("steps", DemoRequest.DEFAULT_STEPS);
        d.addProperty("seed", DemoRequest.DEFAULT_SEED);
        o.add("defaults", d);
        JsonObject l = new JsonObject();
        l.addProperty("minScale", DemoRequest.MIN_SCALE);
        l.addProperty("maxScale", DemoRequest.MAX_SCALE);
        l.addProperty("minSteps", DemoRequest.MIN_STEPS);
        l.addProperty("maxSteps", DemoRequest.MAX_STEPS);
        l.addProperty("queue", queueCapacity);
        o.add("limits", l);
        o.add("examples", GSON.toJsonTree(new Object[][] {{"#BB2266", 3}, {"#44CCAA", 5}}));
        return o;
    }

    private JsonObject status() {
        JsonObject o = new JsonObject();
        o.addProperty("running", running);
        o.addProperty("waiting", waiting.get());
        o.addProperty("step", step.get());
        o.addProperty("steps", steps.get());
        o.addProperty("served", served.get());
        return o;
    }

    /** The query string's parameters, URL-decoded; the last value of a repeated key wins. */
    static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            try {
                q.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new DemoRequest.BadRequest("the query string is not URL-encoded properly near '" + part
                        + "': write '%' as %25 and other special characters as %XX (two hex digits).");
            }
        }
        return q;
    }

    private static JsonObject error(String message) {
        JsonObject o = new JsonObject();
        o.addProperty("error", message);
        return o;
    }

    private static void json(HttpExchange ex, int code, JsonObject body) throws IOException {
        send(ex, code, "application/json; charset=utf-8", GSON.toJson(body).getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int code, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
