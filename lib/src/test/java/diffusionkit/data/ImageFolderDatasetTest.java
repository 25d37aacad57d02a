package diffusionkit.data;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ImageFolderDatasetTest {

    @Test
    void readsImagesOfAnySizeAndCompositesAlphaOnWhite(@TempDir Path dir) throws Exception {
        BufferedImage a = new BufferedImage(10, 6, BufferedImage.TYPE_INT_ARGB);
        a.setRGB(0, 0, 0x00000000); // fully transparent black -> white
        a.setRGB(1, 0, 0xFFFF0000); // opaque red
        a.setRGB(2, 0, 0x80000000); // half-transparent black -> grey
        ImageIO.write(a, "png", dir.resolve("a.png").toFile());
        ImageIO.write(new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB), "jpg", dir.resolve("b.jpg").toFile());
        ImageDataset d = ImageFolderDataset.load(dir);
        assertEquals(2, d.length());
        assertFalse(d.isLabelled());
        float[] img = d.rawImage(0);
        int plane = 60;
        assertEquals(1f, img[0], 1e-6);
        assertEquals(1f, img[1], 1e-6);
        assertEquals(0f, img[plane + 1], 1e-6);
        assertEquals((255 * 127 + 127) / 255 / 255f, img[2], 1.5 / 255);
        try (NDManager m = NDManager.newBaseManager()) {
            DataException e = assertThrows(DataException.class, () -> d.images(m, new int[] {0, 1}, new java.util.Random()));
            assertTrue(e.getMessage().contains("different sizes"), e.getMessage());
            var x = d.withPreprocess(Preprocess.course(16)).images(m, new int[] {0, 1}, new java.util.Random(1));
            assertEquals(new ai.djl.ndarray.types.Shape(2, 3, 16, 16), x.getShape());
            assertTrue(x.min().getFloat() >= -1f && x.max().getFloat() <= 1f);
        }
    }

    @Test
    void subFoldersBecomeLabels(@TempDir Path dir) throws Exception {
        for (String c : new String[] {"cats", "dogs"}) {
            Files.createDirectories(dir.resolve(c));
            ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve(c).resolve("x.png").toFile());
        }
        ImageDataset d = ImageFolderDataset.load(dir);
        assertEquals(java.util.List.of("cats", "dogs"), d.classNames());
        assertEquals(0, d.label(0));
        assertEquals(1, d.label(1));
    }

    @Test
    void anEmptyFolderIsExplained(@TempDir Path dir) {
        DataException e = assertThrows(DataException.class, () -> ImageFolderDataset.load(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("holds no images"), e.getMessage());
        assertTrue(e.getMessage().contains("put PNG or JPEG files in it"), e.getMessage());
    }

    @Test
    void aNonImageFileIsNamed(@TempDir Path dir) throws Exception {
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("ok.png").toFile());
        Files.writeString(dir.resolve("notes.txt"), "hello");
        DataException e = assertThrows(DataException.class, () -> ImageFolderDataset.load(dir));
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains("not an image file"), e.getMessage());
        assertTrue(e.getMessage().contains("Move it out of " + dir), e.getMessage());
    }

    @Test
    void aCorruptPngIsNamed(@TempDir Path dir) throws Exception {
        ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("full.png").toFile());
        byte[] png = Files.readAllBytes(dir.resolve("full.png"));
        Files.write(dir.resolve("broken.png"), java.util.Arrays.copyOf(png, 40));
        DataException e = assertThrows(DataException.class, () -> ImageFolderDataset.load(dir));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertTrue(e.getMessage().contains("replace it with a valid PNG/JPEG"), e.getMessage());
    }

    @Test
    void aMissingFolderIsExplained(@TempDir Path dir) {
        DataException e = assertThrows(DataException.class, () -> ImageFolderDataset.load(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("not a folder"), e.getMessage());
    }
}
