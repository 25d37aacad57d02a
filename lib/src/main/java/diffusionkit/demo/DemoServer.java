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
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The kit's answer to the course's Gradio demo: a small web app where a colour picker and a guidance scale produce
 * a colour-guided image. The page ({@code GET /}) is one client of a small HTTP API:
 * <ul>
 *   <li>{@code GET /api/generate?color=55FFAA&scale=3&steps=40&seed=0} → {@code image/png}, optionally with
 *       {@code &prompt=a+red+heart&prompt_scale=20} when the generator has a CLIP ({@link ImageGenerator#takesPrompts});
 *       400 with
 *       {@code {"error": ...}} for bad input; 503 with {@code {"error": "busy ..."}} and {@code Retry-After} when
 *       the queue is full; 503 with {@code {"error": "timed out ..."}} when no image is ready within the
 *       generation timeout; 405 for any method but GET (HEAD too: it would generate an image to throw away).</li>
 *   <li>{@code GET /api/status} → {@code {"running": bool, "waiting": n, "step": k, "steps": n, "served": n}}.</li>
 *   <li>{@code GET /api/info} → the model's name (a folder name, never a server path), the defaults, the limits
 *       and the course's two examples.</li>
 * </ul>
 * Generation runs on one worker thread (one model, one image at a time); at most {@code queueCapacity} more
 * requests wait, further ones are told the server is busy. A request that times out, or a server that closes, stops
 * its generation at the next step (the generator's progress callback throws), so the worker frees its arrays and
 * turns to the next request. HTTP exchanges are handled by a fixed pool of threads with a bounded queue
 * ({@value #HANDLER_QUEUE} exchanges; past that the connection is closed), so memory stays bounded under a flood.
 * Request data never reaches the file system. The server binds to the loopback address unless another one is
 * given explicitly.
 */
public final class DemoServer implements AutoCloseable {

    /** How long a request waits for its image (queue and generation) by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);

    /** HTTP exchanges that may wait for a handler thread. */
    static final int HANDLER_QUEUE = 64;

    private static final Gson GSON = new Gson();

    private final ImageGenerator generator;
    private final String modelName;
    private final Duration timeout;
    private final HttpServer http;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> daemon(r, "demo-generate"));
    private final ThreadPoolExecutor handlers;
    private final Semaphore slots;
    private final int queueCapacity;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger step = new AtomicInteger();
    private final AtomicInteger steps = new AtomicInteger();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong busyAnswers = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private volatile boolean running;
    private volatile boolean closing;
    private final byte[] page;

    /**
     * A server for {@code generator} with the {@link #DEFAULT_TIMEOUT}, not yet started.
     *
     * @param modelName shown on the page; a path is shown as its last folder name only
     * @param address where to listen; use {@link #loopback(int)} unless the demo should be reachable from elsewhere
     * @param queueCapacity how many requests may wait while one is generated
     */
    public DemoServer(ImageGenerator generator, String modelName, InetSocketAddress address, int queueCapacity)
            throws IOException {
        this(generator, modelName, address, queueCapacity, DEFAULT_TIMEOUT);
    }

    /**
     * A server for {@code generator}, not yet started.
     *
     * @param modelName shown on the page; a path is shown as its last folder name only
     * @param address where to listen; use {@link #loopback(int)} unless the demo should be reachable from elsewhere
     * @param queueCapacity how many requests may wait while one is generated
     * @param timeout how long a request waits for its image, queue included; then it is answered 503 "timed out"
     *     and its generation is stopped at the next step
     */
    public DemoServer(ImageGenerator generator, String modelName, InetSocketAddress address, int queueCapacity,
            Duration timeout) throws IOException {
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("queue capacity must be >= 0, got " + queueCapacity);
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        this.generator = generator;
        this.modelName = displayName(modelName);
        this.queueCapacity = queueCapacity;
        this.timeout = timeout;
        this.slots = new Semaphore(1 + queueCapacity);
        // threads: one per request that may hold a slot (they wait for their image) plus a few for quick answers
        int threads = queueCapacity + 5;
        this.handlers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(HANDLER_QUEUE), r -> daemon(r, "demo-http"));
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

    /** The address the server listens on. */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** The page's address. */
    public String url() {
        return "http://" + http.getAddress().getAddress().getHostAddress() + ":" + port() + "/";
    }

    /** The model's name as the page shows it. */
    public String modelName() {
        return modelName;
    }

    /** Images served so far. */
    public long served() {
        return served.get();
    }

    /** Requests answered "busy" so far. */
    public long busyAnswers() {
        return busyAnswers.get();
    }

    /** Requests answered "timed out" so far. */
    public long timeouts() {
        return timeouts.get();
    }

    /** Whether an image is being generated now. */
    public boolean isGenerating() {
        return running;
    }

    /**
     * Stops serving, stops a running generation at its next step and waits (up to 30 s) for the worker to finish,
     * so that the caller may close the model afterwards.
     */
    @Override
    public void close() {
        closing = true;
        http.stop(0);
        worker.shutdownNow();
        handlers.shutdownNow();
        try {
            worker.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            try {
                route(ex);
            } catch (RuntimeException e) {
                // a bug, not the client's fault: answer 500 (this fails if the headers were sent already)
                json(ex, 500, error("internal error: " + e));
            }
        } catch (IOException | RuntimeException e) {
            // the client is gone, or the answer had started: nothing more can be sent
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        boolean head = method.equals("HEAD");
        if (!method.equals("GET") && !head || head && path.equals("/api/generate")) {
            ex.getResponseHeaders().set("Allow", path.equals("/api/generate") ? "GET" : "GET, HEAD");
            json(ex, 405, error(method + " is not served here: use GET"
                    + (head ? " (a HEAD request would generate an image only to throw it away)" : "")));
            return;
        }
        switch (path) {
            case "/", "/index.html" -> send(ex, 200, "text/html; charset=utf-8", page);
            case "/api/info" -> json(ex, 200, info());
            case "/api/status" -> json(ex, 200, status());
            case "/api/generate" -> generate(ex);
            default -> json(ex, 404, error("no such page: " + path + " (the demo serves /, /api/generate, /api/status, /api/info)"));
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
        if (req.hasPrompt() && !generator.takesPrompts()) {
            json(ex, 400, error(DemoRequest.NO_CLIP));
            return;
        }
        if (closing || !slots.tryAcquire()) {
            busyAnswers.incrementAndGet();
            ex.getResponseHeaders().add("Retry-After", "5");
            json(ex, 503, error(closing ? "busy: the server is shutting down"
                    : queueCapacity == 0 ? "busy: an image is being generated; try again in a few seconds"
                    : "busy: one image is being generated and " + queueCapacity
                            + " more are waiting; try again in a few seconds"));
            return;
        }
        waiting.incrementAndGet();
        AtomicBoolean claimed = new AtomicBoolean();     // set once: by the worker (started) or the handler (gave up)
        AtomicBoolean cancelled = new AtomicBoolean();
        long t0 = System.nanoTime();
        Future<BufferedImage> f;
        try {
            f = worker.submit(() -> {
                if (!claimed.compareAndSet(false, true)) {
                    return null;                         // the request timed out while waiting; its slot is free
                }
                waiting.decrementAndGet();
                running = true;
                step.set(0);
                steps.set(req.steps());
                try {
                    return generator.generate(req, k -> {
                        if (cancelled.get() || closing) {
                            throw new CancellationException(closing ? "the server is shutting down"
                                    : "the request timed out");
                        }
                        step.set(k);
                    });
                } finally {
                    running = false;
                    slots.release();
                }
            });
        } catch (RuntimeException e) {                   // the worker was shut down
            waiting.decrementAndGet();
            slots.release();
            json(ex, 503, error("busy: the server is shutting down"));
            return;
        }
        try {
            BufferedImage img = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(img, "png", png);
            served.incrementAndGet();
            ex.getResponseHeaders().add("X-Generation-Ms", Long.toString((System.nanoTime() - t0) / 1_000_000));
            ex.getResponseHeaders().add("Cache-Control", "no-store");
            send(ex, 200, "image/png", png.toByteArray());
        } catch (TimeoutException e) {
            cancelled.set(true);
            if (claimed.compareAndSet(false, true)) {    // never started: take it out of the queue ourselves
                waiting.decrementAndGet();
                slots.release();
            }
            timeouts.incrementAndGet();
            ex.getResponseHeaders().add("Retry-After", "5");
            json(ex, 503, error("timed out: no image after " + seconds(timeout) + " (the server is slow or has"
                    + " many requests); the generation was stopped. Try fewer steps, or again later."));
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof DemoRequest.BadRequest) {
                json(ex, 400, error(c.getMessage()));
            } else if (c instanceof CancellationException) {
                json(ex, 503, error("busy: " + c.getMessage()));
            } else {
                json(ex, 500, error("generation failed: " + (c.getMessage() != null ? c.getMessage() : c.toString())));
            }
        } catch (CancellationException e) {
            json(ex, 503, error("busy: the server is shutting down"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancelled.set(true);
            json(ex, 503, error("busy: the server is shutting down"));
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
        d.addProperty("promptScale", DemoRequest.DEFAULT_PROMPT_SCALE);
        o.add("defaults", d);
        o.addProperty("prompts", generator.takesPrompts());
        JsonObject l = new JsonObject();
        l.addProperty("minScale", DemoRequest.MIN_SCALE);
        l.addProperty("maxScale", DemoRequest.MAX_SCALE);
        l.addProperty("minSteps", DemoRequest.MIN_STEPS);
        l.addProperty("maxSteps", DemoRequest.MAX_STEPS);
        l.addProperty("maxPromptScale", DemoRequest.MAX_PROMPT_SCALE);
        l.addProperty("maxPromptLength", DemoRequest.MAX_PROMPT_LENGTH);
        l.addProperty("queue", queueCapacity);
        l.addProperty("timeoutSeconds", timeout.toSeconds());
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

    /**
     * The name to show for a model: its last path element when {@code name} is a path (a server's folder layout is
     * nobody's business), else {@code name} itself.
     */
    static String displayName(String name) {
        if (name == null || name.isBlank()) {
            return "unnamed model";
        }
        String s = name.strip().replaceAll("[/\\\\]+$", "");
        int cut = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        return s.isEmpty() ? "unnamed model" : s.substring(cut + 1);
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

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
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
