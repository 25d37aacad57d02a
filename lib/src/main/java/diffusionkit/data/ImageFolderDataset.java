package diffusionkit.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A learner's own images: every PNG/JPEG/GIF/BMP file in a folder (and its sub-folders), of any size, RGB with
 * transparency composited on white. When the files sit in sub-folders, the sub-folder names become class labels
 * (like torchvision's {@code ImageFolder}); otherwise the set is unlabelled. Set an image size with
 * {@link ImageDataset#withPreprocess(Preprocess)} before batching images of mixed sizes.
 */
public final class ImageFolderDataset {

    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".gif", ".bmp");

    private ImageFolderDataset() {}

    /** Loads every image under {@code folder}. */
    public static ImageDataset load(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new DataException(folder + " is not a folder: give a folder of PNG/JPEG images or a packaged dataset name "
                    + PackagedDatasets.NAMES + ".");
        }
        List<Path> files;
        try (var walk = Files.walk(folder)) {
            files = walk.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new DataException("cannot list " + folder + ": " + e.getMessage(), e);
        }
        List<Path> images = new ArrayList<>();
        for (Path f : files) {
            String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
            if (EXTENSIONS.stream().anyMatch(n::endsWith)) {
                images.add(f);
            } else {
                throw new DataException(f + " is not an image file (expected " + String.join(", ", EXTENSIONS)
                        + "). Move it out of " + folder + " or convert it.");
            }
        }
        if (images.isEmpty()) {
            throw new DataException(folder + " holds no images: put PNG or JPEG files in it (sub-folders become class labels).");
        }
        List<String> classes = new ArrayList<>();
        boolean labelled = images.stream().allMatch(p -> !p.getParent().equals(folder));
        if (labelled) {
            for (Path p : images) {
                String c = folder.relativize(p).getName(0).toString();
                if (!classes.contains(c)) {
                    classes.add(c);
                }
            }
        }
        int n = images.size();
        byte[][] px = new byte[n][];
        int[] hs = new int[n];
        int[] ws = new int[n];
        int[] ls = new int[n];
        for (int i = 0; i < n; i++) {
            Images.Decoded d = Images.read(images.get(i), 3);
            px[i] = d.chw();
            hs[i] = d.height();
            ws[i] = d.width();
            ls[i] = labelled ? classes.indexOf(folder.relativize(images.get(i)).getName(0).toString()) : -1;
        }
        return new ImageDataset(folder.toString(), 3, px, hs, ws, ls, classes, Preprocess.NONE) { };
    }
}
