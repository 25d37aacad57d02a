package diffusionkit.hub;

import diffusionkit.hub.HubException.Reason;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;

/**
 * Files of Hugging Face Hub model repositories, through the cache Python's huggingface_hub uses ({@link HubCache}):
 * {@link #download} is {@code hf_hub_download}. Online, it asks the hub for the file's commit, etag and size (a HEAD of
 * {@code <endpoint>/<repo>/resolve/<revision>/<file>}), and downloads only what the cache lacks: into
 * {@code blobs/<etag>.incomplete}, resumed with a range request after a cut (in this process or a later one), checked
 * against the announced size and checksum, then moved into place and linked from {@code snapshots/<commit>/}. Offline
 * ({@code HF_HUB_OFFLINE}), or when the hub cannot be reached, the cache answers alone. Every failure is a
 * {@link HubException} that names the repository, the file and what to do.
 *
 * <pre>{@code
 * Hub hub = Hub.fromEnvironment();
 * Path config = hub.download("google/ddpm-cifar10-32", "unet/config.json", "main");
 * }</pre>
 */
public final class Hub {

    /** The revision used when none is given. */
    public static final String MAIN = "main";

    private static final int MAX_REDIRECTS = 5;
    private static final int MAX_RETRIES = 5;

    private final HubSettings settings;
    private final HubCache cache;
    private final DownloadProgress progress;
    private Duration retryPause = Duration.ofSeconds(1);

    /** A hub client with {@code settings}, reporting to {@code progress}. */
    public Hub(HubSettings settings, DownloadProgress progress) {
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir());
        this.progress = progress;
    }

    /** The hub of this process's environment ({@link HubSettings#fromEnvironment()}), reporting on stderr. */
    public static Hub fromEnvironment() {
        return new Hub(HubSettings.fromEnvironment(), DownloadProgress.stderr());
    }

    /** Its settings. */
    public HubSettings settings() {
        return settings;
    }

    /** Its cache. */
    public HubCache cache() {
        return cache;
    }

    /** The pause before resuming a cut download (1 s, as huggingface_hub). */
    Hub retryPause(Duration pause) {
        this.retryPause = pause;
        return this;
    }

    /** A file of a repository at a commit: its path in the snapshot, or none when the repository has no such file. */
    public record Resolved(String commit, Optional<Path> path) {}

    /**
     * The file's path in the cache's snapshot of {@code revision}, downloaded when the cache lacks it.
     *
     * @param revision a branch, tag or commit hash; null for {@value #MAIN}
     * @throws HubException when it cannot be had, saying why and what to do
     */
    public Path download(String repoId, String filename, String revision) throws IOException {
        Resolved r = resolve(repoId, filename, revision);
        if (r.path().isEmpty()) {
            throw new HubException(Reason.ENTRY_NOT_FOUND, repoId + " has no file " + filename + " at revision "
                    + rev(revision) + " (commit " + r.commit() + "): check the file name and the revision.");
        }
        return r.path().get();
    }

    /**
     * As {@link #download}, but a file the repository does not have (the hub says so, or the cache remembers it said
     * so, or offline the cache does not have it) is an empty path instead of an error; the commit is still known.
     */
    public Resolved resolve(String repoId, String filename, String revision) throws IOException {
        String revisionOrMain = rev(revision);
        if (!HubCache.isRepoId(repoId)) {
            throw new HubException(Reason.REPO_NOT_FOUND, "'" + repoId + "' is not a hub repository id: an id is org/name"
                    + " (letters, digits, '-', '_', '.'), e.g. google/ddpm-cifar10-32; or give a folder that exists.");
        }
        if (!isRelativeInside(filename) || !isRelativeInside(revisionOrMain)) {
            throw new IllegalArgumentException("a hub file name and a revision are paths inside the repository"
                    + " (no '..', no leading '/'): '" + filename + "', '" + revisionOrMain + "'");
        }
        // a commit hash whose file is in the cache needs no request
        if (HubCache.COMMIT_HASH.matcher(revisionOrMain).matches()) {
            Optional<Resolved> hit = cached(repoId, revisionOrMain, filename);
            if (hit.isPresent()) {
                return hit.get();
            }
        }
        if (settings.offline()) {
            return cachedOrThrow(repoId, revisionOrMain, filename, null);
        }
        Metadata meta;
        try {
            meta = head(repoId, filename, revisionOrMain);
        } catch (EntryNotFound e) {
            if (e.commit != null) {
                cache.markMissing(repoId, e.commit, filename);
                cache.writeRef(repoId, revisionOrMain, e.commit);
            }
            return new Resolved(e.commit, Optional.empty());
        } catch (Unreachable e) {
            return cachedOrThrow(repoId, revisionOrMain, filename, e);
        }
        cache.writeRef(repoId, revisionOrMain, meta.commit);
        Path pointer = cache.pointer(repoId, meta.commit, filename);
        Path blob = cache.blob(repoId, meta.etag);
        if (Files.isRegularFile(blob)) {
            String bad = HubCache.mismatch(blob, meta.etag);
            if (bad == null && (Files.size(blob) == meta.size)) {
                if (!isLinkTo(pointer, blob)) {
                    cache.link(blob, pointer, false);
                }
                return new Resolved(meta.commit, Optional.of(pointer));
            }
            progress.notice("the cached " + repoId + " " + filename + " (" + blob + ") is corrupted ("
                    + (bad != null ? bad + " where its name says " + meta.etag : Files.size(blob) + " bytes of "
                    + meta.size) + "): downloading it again");
            Files.delete(blob);
        } else if (Files.isRegularFile(pointer) && !Files.isSymbolicLink(pointer)) {
            return new Resolved(meta.commit, Optional.of(pointer)); // a copy, where links cannot be made
        }
        fetch(repoId, filename, meta, blob);
        cache.link(blob, pointer, true);
        return new Resolved(meta.commit, Optional.of(pointer));
    }

    // ------------------------------------------------------------------------------------------ the cache alone

    /** The cached file of a commit (checked against its etag), known-missing, or nothing known. */
    private Optional<Resolved> cached(String repoId, String commit, String filename) throws IOException {
        Path pointer = cache.pointer(repoId, commit, filename);
        if (Files.exists(pointer)) {
            checkCachedBlob(repoId, filename, pointer);
            return Optional.of(new Resolved(commit, Optional.of(pointer)));
        }
        if (cache.knownMissing(repoId, commit, filename)) {
            return Optional.of(new Resolved(commit, Optional.empty()));
        }
        return Optional.empty();
    }

    /** A cached blob must still match its name (its etag). */
    private void checkCachedBlob(String repoId, String filename, Path pointer) throws IOException {
        if (!Files.isSymbolicLink(pointer)) {
            return; // a copy (no links on this file system): nothing names its etag
        }
        Path blob = pointer.toRealPath();
        String bad = HubCache.mismatch(blob, blob.getFileName().toString());
        if (bad != null) {
            throw new HubException(Reason.CORRUPTED, "the cached " + repoId + " " + filename + " is corrupted: " + blob
                    + " has " + bad + " where its name says " + blob.getFileName() + ". Delete that file and download it"
                    + " again (online, without HF_HUB_OFFLINE; or in Python: hf_hub_download(\"" + repoId + "\", \""
                    + filename + "\", force_download=True)).");
        }
    }

    /** Offline or unreachable: the cache's answer, or the error that says what to download and how. */
    private Resolved cachedOrThrow(String repoId, String revision, String filename, Unreachable why) throws IOException {
        Optional<String> commit = cache.commitOf(repoId, revision);
        if (commit.isPresent()) {
            Optional<Resolved> hit = cached(repoId, commit.get(), filename);
            if (hit.isPresent()) {
                if (why != null && hit.get().path().isPresent()) {
                    progress.notice(why.getMessage() + "; using the cached " + repoId + " " + filename + " (commit "
                            + commit.get() + ")");
                }
                return hit.get();
            }
        }
        if (why != null && why.reason != Reason.NOT_IN_CACHE) {
            throw new HubException(why.reason, why.getMessage() + ", and the cache " + settings.cacheDir()
                    + " does not have " + filename + ". " + why.fix, why);
        }
        String cause = why != null ? why.getMessage() : "HF_HUB_OFFLINE is set";
        throw new HubException(Reason.NOT_IN_CACHE, repoId + " " + filename + " (revision " + revision + ") is not in the"
                + " Hugging Face cache " + settings.cacheDir() + " and " + cause + ". Download it once with internet"
                + (settings.offline() ? " (unset HF_HUB_OFFLINE)" : "") + ": by the kit, or in Python with"
                + " huggingface_hub.snapshot_download(\"" + repoId + "\") (same cache); or give the model's folder"
                + " instead of its id.", why);
    }

    // ------------------------------------------------------------------------------------------ HTTP

    /** What the hub says of a file. */
    private record Metadata(String commit, String etag, long size, String location) {}

    /** The hub says the file does not exist at that revision (404 EntryNotFound); the commit when it told it. */
    private static final class EntryNotFound extends Exception {
        private static final long serialVersionUID = 1L;
        final String commit;

        EntryNotFound(String commit) {
            super(null, null, false, false);
            this.commit = commit;
        }
    }

    /** The hub could not be asked or refused (network, 401/403, 5xx): the cache may still have the file. */
    private static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;
        final Reason reason;
        final String fix;

        Unreachable(Reason reason, String message, String fix, Throwable cause) {
            super(message, cause);
            this.reason = reason;
            this.fix = fix;
        }
    }

    private String resolveUrl(String repoId, String filename, String revision) {
        return settings.endpoint() + "/" + repoId + "/resolve/" + encode(revision) + "/" + encodePath(filename);
    }

    /** huggingface_hub's {@code get_hf_file_metadata}: a HEAD that follows relative redirects only. */
    private Metadata head(String repoId, String filename, String revision) throws IOException, EntryNotFound, Unreachable {
        String url = resolveUrl(repoId, filename, revision);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpURLConnection c;
            int code;
            try {
                c = open(url, "HEAD", settings.etagTimeout(), true);
                c.setRequestProperty("Accept-Encoding", "identity");
                code = c.getResponseCode();
            } catch (IOException e) {
                throw unreachable(url, e);
            }
            try {
                if (code >= 300 && code < 400) {
                    String location = c.getHeaderField("Location");
                    if (location == null) {
                        throw hubError(url, code, "a redirect without a Location");
                    }
                    URI next = URI.create(url).resolve(location);
                    if (!isAbsolute(location)) { // the repository was renamed: ask again there
                        url = next.toString();
                        continue;
                    }
                    return metadata(c, url, next.toString());
                }
                if (code >= 200 && code < 300) {
                    return metadata(c, url, url);
                }
                raise(repoId, filename, revision, url, c, code);
            } finally {
                c.disconnect();
            }
        }
        throw hubError(url, 310, "more than " + MAX_REDIRECTS + " redirects");
    }

    private Metadata metadata(HttpURLConnection c, String url, String location) throws HubException {
        String commit = c.getHeaderField("X-Repo-Commit");
        String etag = normalizeEtag(firstNonNull(c.getHeaderField("X-Linked-Etag"), c.getHeaderField("ETag")));
        String size = firstNonNull(c.getHeaderField("X-Linked-Size"), c.getHeaderField("Content-Length"));
        if (commit == null || etag == null || size == null) {
            throw new HubException(Reason.HUB_ERROR, url + " answered without " + (commit == null ? "X-Repo-Commit"
                    : etag == null ? "an ETag" : "a size") + ": the server at HF_ENDPOINT (" + settings.endpoint()
                    + ") does not answer as the Hugging Face Hub does. Check HF_ENDPOINT, a proxy or a firewall.");
        }
        try {
            return new Metadata(commit, etag, Long.parseLong(size.strip()), location);
        } catch (NumberFormatException e) {
            throw new HubException(Reason.HUB_ERROR, url + " announced the size '" + size + "'", e);
        }
    }

    /** The error of a non-2xx answer, by its {@code X-Error-Code} as huggingface_hub's {@code hf_raise_for_status}. */
    private void raise(String repoId, String filename, String revision, String url, HttpURLConnection c, int code)
            throws HubException, EntryNotFound, Unreachable {
        String errorCode = c.getHeaderField("X-Error-Code");
        String serverSays = c.getHeaderField("X-Error-Message");
        String said = serverSays != null ? " (the hub says: " + serverSays + ")" : "";
        if ("EntryNotFound".equals(errorCode) || (code == 404 && errorCode == null && c.getHeaderField("X-Repo-Commit") != null)) {
            throw new EntryNotFound(c.getHeaderField("X-Repo-Commit"));
        }
        if ("RevisionNotFound".equals(errorCode)) {
            throw new HubException(Reason.REVISION_NOT_FOUND, repoId + " has no revision '" + revision + "'" + said
                    + ": give a branch, tag or commit hash of the repository (its \"Files and versions\" page lists them),"
                    + " or none for main.");
        }
        if ("GatedRepo".equals(errorCode)) {
            throw new Unreachable(Reason.GATED, repoId + " is a gated repository and " + (settings.token() == null
                    ? "no token was sent" : "the token sent has no access to it") + said, "Accept its conditions on its"
                    + " page on the Hugging Face Hub, then set HF_TOKEN to an access token of your account (or run"
                    + " `huggingface-cli login` once, which writes " + "$HF_HOME/token).", null);
        }
        if ("RepoNotFound".equals(errorCode) || code == 401) {
            throw new Unreachable(Reason.REPO_NOT_FOUND, "the hub has no repository " + repoId + said
                    + (settings.token() == null ? " (or it is private and no token was sent)" : ""), "Check the id"
                    + " (org/name, as on its page; a local folder of that name does not exist here either)"
                    + (settings.token() == null ? "; for a private repository set HF_TOKEN" : "") + ".", null);
        }
        if (code == 404) {
            throw new Unreachable(Reason.REPO_NOT_FOUND, url + " answered 404" + said, "Check the repository id and"
                    + " HF_ENDPOINT (" + settings.endpoint() + ").", null);
        }
        if (code == 403) {
            throw new Unreachable(Reason.GATED, "the hub refused " + repoId + " " + filename + " (403)" + said,
                    "Check that your token (HF_TOKEN) has read access to " + repoId + ".", null);
        }
        throw new Unreachable(Reason.HUB_ERROR, url + " answered " + code + said,
                "Try again later, or download the files by another way and give their folder.", null);
    }

    private Unreachable unreachable(String url, IOException e) {
        String what = e instanceof SocketTimeoutException ? "no answer within " + settings.etagTimeout().toMillis() / 1000.0
                + " s (HF_HUB_ETAG_TIMEOUT)" : e.toString();
        return new Unreachable(Reason.NOT_IN_CACHE, "the hub cannot be reached (" + url + ": " + what + ")", "", e);
    }

    private HubException hubError(String url, int code, String what) {
        return new HubException(Reason.HUB_ERROR, url + " answered " + code + " with " + what
                + ": check HF_ENDPOINT (" + settings.endpoint() + "), a proxy or a firewall.");
    }

    /**
     * Downloads a blob into {@code <etag>.incomplete}, resuming, checks it, moves it into place. Locked per blob
     * against other processes (a file lock), and within this one: a JVM may hold a file's lock once only.
     */
    private void fetch(String repoId, String filename, Metadata meta, Path blob) throws IOException {
        synchronized (Hub.class) {
            fetchLocked(repoId, filename, meta, blob);
        }
    }

    private void fetchLocked(String repoId, String filename, Metadata meta, Path blob) throws IOException {
        Path lockFile = cache.lock(repoId, meta.etag);
        Files.createDirectories(lockFile.getParent());
        Files.createDirectories(blob.getParent());
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            if (Files.isRegularFile(blob)) {
                return; // another kit process got it while we waited
            }
            Path part = cache.incomplete(repoId, meta.etag);
            long t0 = System.nanoTime();
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (have > meta.size) {
                Files.delete(part);
                have = 0;
            }
            progress.start(repoId, filename, meta.size, have);
            int triesLeft = MAX_RETRIES;
            while (have < meta.size) {
                long before = have;
                try {
                    have = get(meta.location, part, have, meta.size);
                } catch (IOException cut) {
                    if (cut instanceof HubException) {
                        throw cut;
                    }
                    have = Files.isRegularFile(part) ? Files.size(part) : 0;
                    triesLeft = have > before ? MAX_RETRIES : triesLeft - 1; // data arrived: a fresh set of tries
                    if (triesLeft <= 0) {
                        throw new HubException(Reason.NOT_IN_CACHE, "downloading " + repoId + " " + filename
                                + " failed (" + cut + ") with " + DownloadProgress.size(have) + " of "
                                + DownloadProgress.size(meta.size) + " kept in " + part + ": run again to resume.", cut);
                    }
                    progress.notice("download of " + repoId + " " + filename + " cut at " + DownloadProgress.size(have)
                            + " (" + cut.getMessage() + "): resuming");
                    sleep(retryPause);
                    continue;
                }
                if (have == before) {
                    triesLeft--;
                    if (triesLeft <= 0) {
                        throw new HubException(Reason.HUB_ERROR, "downloading " + repoId + " " + filename
                                + ": the server sent no bytes at " + DownloadProgress.size(have) + " of "
                                + DownloadProgress.size(meta.size) + " (kept in " + part + "): run again later to resume.");
                    }
                }
            }
            long got = Files.size(part);
            String bad = got != meta.size ? got + " bytes where the hub announced " + meta.size
                    : HubCache.mismatch(part, meta.etag);
            if (bad != null) {
                Files.delete(part);
                throw new HubException(Reason.CORRUPTED, "downloaded " + repoId + " " + filename + " but it has " + bad
                        + (got == meta.size ? " where the hub announced " + meta.etag : "") + ": the bytes changed on the"
                        + " way (a proxy?). Nothing was kept; run again, and check HF_ENDPOINT (" + settings.endpoint()
                        + ") and any proxy if it happens again.");
            }
            Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
            progress.done(repoId, filename, got, (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * One GET of {@code url} appended to {@code part} from byte {@code have} (a range request when above 0),
     * following redirects (the token goes to the hub's host only). Returns the bytes on disk after it.
     */
    private long get(String url, Path part, long have, long total) throws IOException {
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpURLConnection c = open(url, "GET", settings.downloadTimeout(), sameHost(url));
            if (have > 0) {
                c.setRequestProperty("Range", "bytes=" + have + "-");
            }
            try {
                int code = c.getResponseCode();
                if (code >= 300 && code < 400 && c.getHeaderField("Location") != null) {
                    url = URI.create(url).resolve(c.getHeaderField("Location")).toString();
                    continue;
                }
                if (code == 416) { // nothing left after have: the server says we have it all, or more
                    return have == total ? have : restart(part);
                }
                boolean append = code == 206 && have > 0 && rangeStart(c.getHeaderField("Content-Range")) == have;
                if (code == 206 && !append) {
                    return restart(part);
                }
                if (code != 200 && code != 206) {
                    throw new HubException(code == 403 ? Reason.GATED : Reason.HUB_ERROR, url + " answered " + code
                            + " while downloading: run again; if it persists, check HF_TOKEN and HF_ENDPOINT.");
                }
                long n = append ? have : 0;
                long announced = c.getContentLengthLong();
                long start = n;
                try (InputStream in = c.getInputStream();
                        OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                    byte[] buf = new byte[1 << 16];
                    for (int r; (r = in.read(buf)) > 0; ) {
                        out.write(buf, 0, r);
                        n += r;
                        progress.advance(n);
                    }
                }
                if (announced >= 0 && n - start < announced) { // the connection closed early, without an error
                    throw new IOException("the connection closed after " + (n - start) + " of " + announced + " bytes");
                }
                return n;
            } finally {
                c.disconnect();
            }
        }
        throw hubError(url, 310, "more than " + MAX_REDIRECTS + " redirects");
    }

    private static long restart(Path part) throws IOException {
        Files.deleteIfExists(part);
        return 0;
    }

    private static long rangeStart(String contentRange) {
        // "bytes 100-199/200"
        if (contentRange == null || !contentRange.startsWith("bytes ")) {
            return -1;
        }
        try {
            return Long.parseLong(contentRange.substring(6, contentRange.indexOf('-')).strip());
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private HttpURLConnection open(String url, String method, Duration timeout, boolean withToken) throws IOException {
        HttpURLConnection c;
        try {
            c = (HttpURLConnection) new URI(url).toURL().openConnection();
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new HubException(Reason.HUB_ERROR, "'" + url + "' is not a valid address: check HF_ENDPOINT ("
                    + settings.endpoint() + ")", e);
        }
        c.setRequestMethod(method);
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout((int) Math.max(1, settings.etagTimeout().toMillis()));
        c.setReadTimeout((int) Math.max(1, timeout.toMillis()));
        c.setUseCaches(false);
        c.setRequestProperty("User-Agent", "diffusion-kit; java/" + System.getProperty("java.version"));
        if (withToken && settings.token() != null) {
            c.setRequestProperty("Authorization", "Bearer " + settings.token());
        }
        return c;
    }

    /** Whether {@code url} is on the hub's own host (the token is sent there only, never to a CDN). */
    private boolean sameHost(String url) {
        URI a = URI.create(url);
        URI b = URI.create(settings.endpoint());
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
                && a.getPort() == b.getPort();
    }

    private static boolean isAbsolute(String location) {
        return URI.create(location).getHost() != null;
    }

    private static boolean isLinkTo(Path pointer, Path blob) throws IOException {
        return Files.isSymbolicLink(pointer) && Files.exists(pointer) && Files.isSameFile(pointer, blob);
    }

    /** {@code W/"abc"} and {@code "abc"} are {@code abc}, as huggingface_hub's {@code _normalize_etag}. */
    static String normalizeEtag(String etag) {
        if (etag == null) {
            return null;
        }
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        e = e.replaceAll("^\"+|\"+$", "");
        return e.isEmpty() || e.contains("/") || e.contains("..") ? null : e;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String part : path.split("/", -1)) {
            if (b.length() > 0) {
                b.append('/');
            }
            b.append(encode(part));
        }
        return b.toString();
    }

    private static boolean isRelativeInside(String p) {
        if (p.isEmpty() || p.startsWith("/") || p.contains("\\") || p.contains("\0")) {
            return false;
        }
        for (String part : p.split("/")) {
            if (part.isEmpty() || part.equals("..") || part.equals(".")) {
                return false;
            }
        }
        return true;
    }

    private static String rev(String revision) {
        return revision == null || revision.isBlank() ? MAIN : revision;
    }

    private static String firstNonNull(String a, String b) {
        return a != null ? a : b;
    }

    private static void sleep(Duration d) throws IOException {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to resume a download", e);
        }
    }
}
