package diffusionkit.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face Hub on the loopback, for tests: it speaks the hub's resolve endpoint as huggingface_hub relies on it
 * ({@code HEAD|GET /<org>/<name>/resolve/<revision>/<file>}): a small file answers 200 with its git blob hash as
 * {@code ETag}; a large (LFS) file answers 302 to a CDN address on another host name ({@code localhost} instead of
 * {@code 127.0.0.1}) with {@code X-Linked-Etag} (its sha256) and {@code X-Linked-Size}; every answer carries
 * {@code X-Repo-Commit}. Errors as the hub: 401 {@code RepoNotFound}, 401 {@code GatedRepo} without the right token,
 * 404 {@code RevisionNotFound}, 404 {@code EntryNotFound} (with the commit). The CDN honours {@code Range}. Faults on
 * demand: a body cut after some bytes, a body that stalls, a corrupted body, a slow answer, a renamed repository (307
 * with a relative Location). Every request is logged.
 */
final class LoopbackHub implements AutoCloseable {

    /** One logged request. */
    record Request(String method, String host, String path, String range, String authorization) {}

    /** A repository: a commit and its files. */
    static final class Repo {
        final String id;
        String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final Map<String, Boolean> lfs = new LinkedHashMap<>();
        String gatedToken; // non-null: gated, this token has access

        Repo(String id, String commit) {
            this.id = id;
            this.commit = commit;
        }

        /** A small file (stored in git: etag = git blob hash). */
        Repo file(String path, byte[] bytes) {
            files.put(path, bytes);
            lfs.put(path, false);
            return this;
        }

        /** A large file (stored with LFS: served from the CDN, etag = sha256). */
        Repo lfs(String path, byte[] bytes) {
            files.put(path, bytes);
            lfs.put(path, true);
            return this;
        }

        /** Every file of a folder, under {@code prefix}; files over 100 kB as LFS. */
        Repo folder(String prefix, Path dir) throws IOException {
            try (var s = Files.walk(dir)) {
                for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                    byte[] b = Files.readAllBytes(p);
                    String name = prefix + dir.relativize(p).toString().replace('\\', '/');
                    if (b.length > 100_000) {
                        lfs(name, b);
                    } else {
                        file(name, b);
                    }
                }
            }
            return this;
        }

        /** Gated: only {@code token} may read it. */
        Repo gated(String token) {
            this.gatedToken = token;
            return this;
        }
    }

    private static final Pattern RESOLVE = Pattern.compile("^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$");

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> cdn = new ConcurrentHashMap<>();
    final List<Request> log = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Long> cutAfter = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private volatile Duration headDelay = Duration.ZERO;
    private final Map<String, Long> stallAfter = new ConcurrentHashMap<>();
    private volatile Duration stall = Duration.ZERO;
    private final Map<String, String> renamed = new ConcurrentHashMap<>();

    LoopbackHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", this::handle);
        server.start();
    }

    /** The hub's address ({@code HF_ENDPOINT}). */
    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A new repository with a commit hash made from its id. */
    Repo repo(String id) {
        Repo r = new Repo(id, sha1Hex(("commit of " + id).getBytes(StandardCharsets.UTF_8)));
        repos.put(id, r);
        return r;
    }

    /** The next CDN download of {@code path} sends only its first {@code bytes} bytes, then drops the connection. */
    void cutNextDownload(String path, long bytes) {
        cutAfter.put(path, bytes);
    }

    /** Downloads of {@code path} carry one changed byte (same length). */
    void corruptDownloads(String path) {
        corrupt.put(path, true);
    }

    /** The next CDN download of {@code path} sends {@code bytes} bytes, then waits {@code d} before the rest. */
    void stallNextDownload(String path, long bytes, Duration d) {
        stallAfter.put(path, bytes);
        stall = d;
    }

    /** {@code oldId} was renamed {@code newId}: its resolve requests answer 307 with a relative Location, as the hub. */
    void rename(String oldId, String newId) {
        renamed.put(oldId, newId);
    }

    /** Every HEAD answers after {@code d}. */
    void slowHeads(Duration d) {
        headDelay = d;
    }

    /** The logged requests of a method. */
    List<Request> requests(String method) {
        synchronized (log) {
            return log.stream().filter(r -> r.method().equals(method)).toList();
        }
    }

    /** Settings that point at this hub with a cache in {@code cache}. */
    HubSettings settings(Path cache) {
        return new HubSettings(endpoint(), cache, false, null, Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            log.add(new Request(ex.getRequestMethod(), ex.getRequestHeaders().getFirst("Host"), path,
                    ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
            if (path.startsWith("/cdn/")) {
                serveCdn(ex, path.substring(5));
                return;
            }
            Matcher m = RESOLVE.matcher(path);
            if (!m.matches()) {
                send(ex, 404, Map.of(), null);
                return;
            }
            if (ex.getRequestMethod().equals("HEAD") && !headDelay.isZero()) {
                sleep(headDelay);
            }
            String id = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
            String rev = URLDecoder.decode(m.group(2), StandardCharsets.UTF_8);
            String file = URLDecoder.decode(m.group(3), StandardCharsets.UTF_8);
            if (renamed.containsKey(id)) {
                send(ex, 307, Map.of("Location", "/" + renamed.get(id) + "/resolve/" + m.group(2) + "/" + m.group(3)), null);
                return;
            }
            Repo repo = repos.get(id);
            if (repo == null) {
                send(ex, 401, Map.of("X-Error-Code", "RepoNotFound", "X-Error-Message", "Repository not found"), null);
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (repo.gatedToken != null && !("Bearer " + repo.gatedToken).equals(auth)) {
                send(ex, 401, Map.of("X-Error-Code", "GatedRepo", "X-Error-Message", "Access to model " + id
                        + " is restricted. You must have access to it and be authenticated to access it."), null);
                return;
            }
            if (!rev.equals("main") && !rev.equals(repo.commit)) {
                send(ex, 404, Map.of("X-Error-Code", "RevisionNotFound", "X-Error-Message", "Invalid rev id: " + rev), null);
                return;
            }
            byte[] bytes = repo.files.get(file);
            if (bytes == null) {
                send(ex, 404, Map.of("X-Error-Code", "EntryNotFound", "X-Error-Message", "Entry not found",
                        "X-Repo-Commit", repo.commit), null);
                return;
            }
            Map<String, String> h = new LinkedHashMap<>();
            h.put("X-Repo-Commit", repo.commit);
            if (repo.lfs.get(file)) {
                String sha = sha256Hex(bytes);
                cdn.put(sha, bytes);
                cdnNames.put(sha, file);
                h.put("ETag", "\"" + sha1Hex(("pointer " + sha).getBytes(StandardCharsets.UTF_8)) + "\"");
                h.put("X-Linked-Etag", "\"" + sha + "\"");
                h.put("X-Linked-Size", Long.toString(bytes.length));
                h.put("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + sha);
                send(ex, 302, h, null);
                return;
            }
            h.put("ETag", "\"" + gitBlobSha1(bytes) + "\"");
            send(ex, 200, h, serving(file, bytes));
        }
    }

    private final Map<String, String> cdnNames = new ConcurrentHashMap<>();

    private void serveCdn(HttpExchange ex, String sha) throws IOException {
        byte[] bytes = cdn.get(sha);
        if (bytes == null) {
            send(ex, 404, Map.of(), null);
            return;
        }
        bytes = serving(cdnNames.get(sha), bytes);
        String range = ex.getRequestHeaders().getFirst("Range");
        long from = 0;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Long.parseLong(range.substring(6, range.length() - 1));
        }
        if (from >= bytes.length && from > 0) {
            send(ex, 416, Map.of("Content-Range", "bytes */" + bytes.length), null);
            return;
        }
        byte[] body = java.util.Arrays.copyOfRange(bytes, (int) from, bytes.length);
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Disposition", "inline; filename=\"" + cdnNames.get(sha) + "\"");
        if (from > 0) {
            h.put("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        int code = from > 0 ? 206 : 200;
        Long cut = cutAfter.remove(cdnNames.get(sha));
        if (cut != null && !ex.getRequestMethod().equals("HEAD")) {
            sendFirstBytes(ex, code, h, body, cut);
            // drop the connection without the rest: the client sees the body end early
            throw new IOException("cut on purpose");
        }
        Long stallAt = stallAfter.remove(cdnNames.get(sha));
        if (stallAt != null && !ex.getRequestMethod().equals("HEAD")) {
            sendFirstBytes(ex, code, h, body, stallAt);
            sleep(stall); // the client's read timeout fires in here
            throw new IOException("stalled on purpose");
        }
        send(ex, code, h, body);
    }

    /** Announces the whole body, sends its first {@code n} bytes only (the caller then breaks the answer off). */
    private static void sendFirstBytes(HttpExchange ex, int code, Map<String, String> headers, byte[] body, long n)
            throws IOException {
        headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        ex.sendResponseHeaders(code, body.length);
        OutputStream out = ex.getResponseBody();
        out.write(body, 0, (int) Math.min(n, body.length));
        out.flush();
    }

    private byte[] serving(String file, byte[] bytes) {
        if (file != null && corrupt.containsKey(file)) {
            byte[] b = bytes.clone();
            b[b.length / 2] ^= 0x5a;
            return b;
        }
        return bytes;
    }

    private static void send(HttpExchange ex, int code, Map<String, String> headers, byte[] body) throws IOException {
        Headers h = ex.getResponseHeaders();
        headers.forEach(h::set);
        boolean head = ex.getRequestMethod().equals("HEAD");
        if (head || body == null) {
            if (head && body != null) {
                h.set("Content-Length", Integer.toString(body.length));
            }
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String sha256Hex(byte[] b) {
        return digest("SHA-256", b);
    }

    static String sha1Hex(byte[] b) {
        return digest("SHA-1", b);
    }

    static String gitBlobSha1(byte[] b) {
        byte[] head = ("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return sha1Hex(all);
    }

    private static String digest(String alg, byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(alg).digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Serves the tests' tiny pipeline ({@code kit-test/tiny-ddpm}) until stdin closes, for checking the protocol with
     * Python's huggingface_hub: {@code environment/reference/hub_interop.py} says how.
     */
    public static void main(String[] args) throws Exception {
        try (LoopbackHub hub = new LoopbackHub()) {
            HubTest.tinyPipeline(hub, args.length > 0 ? args[0] : HubTest.ID);
            System.out.println(hub.endpoint());
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until stdin closes
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
