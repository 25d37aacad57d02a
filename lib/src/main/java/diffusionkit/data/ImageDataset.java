package diffusionkit.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.util.Progress;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;

/**
 * A labelled (or unlabelled) set of images held in memory as unsigned bytes, served as NCHW float32 batches
 * in [-1, 1] after a {@link Preprocess}. It is a DJL {@link RandomAccessDataset} (each record: the CHW image,
 * the label), and it has its own seeded batch iterator for training loops: {@link #batches(int, long, int)}.
 *
 * <p>Build one with {@link PackagedDatasets}, {@link ImageFolderDataset} or {@link #of}.
 */
public class ImageDataset extends RandomAccessDataset {

    private final String name;
    private final int channels;
    private final byte[][] pixels; // CHW, unsigned bytes
    private final int[] heights;
    private final int[] widths;
    private final int[] labels; // -1 where unlabelled
    private final List<String> classNames;
    private final Preprocess preprocess;

    protected ImageDataset(String name, int channels, byte[][] pixels, int[] heights, int[] widths, int[] labels,
            List<String> classNames, Preprocess preprocess) {
        super(new Builder().setSampling(32, true));
        this.name = name;
        this.channels = channels;
        this.pixels = pixels;
        this.heights = heights;
        this.widths = widths;
        this.labels = labels;
        this.classNames = List.copyOf(classNames);
        this.preprocess = preprocess;
    }

    /**
     * A dataset of equally sized images.
     *
     * @param pixels one CHW unsigned-byte array per image
     * @param labels one label per image, -1 for none (or null for an unlabelled set)
     */
    public static ImageDataset of(String name, int channels, int height, int width, byte[][] pixels, int[] labels,
            List<String> classNames) {
        int n = pixels.length;
        int[] hs = new int[n];
        int[] ws = new int[n];
        java.util.Arrays.fill(hs, height);
        java.util.Arrays.fill(ws, width);
        int[] ls = labels != null ? labels : filled(n, -1);
        return new ImageDataset(name, channels, pixels, hs, ws, ls, classNames, Preprocess.NONE);
    }

    /**
     * The images of {@code first} followed by those of {@code second} (the same channels and class names), with
     * {@code first}'s preprocessing.
     */
    public static ImageDataset concat(String name, ImageDataset first, ImageDataset second) {
        if (first.channels != second.channels || !first.classNames.equals(second.classNames)) {
            throw new IllegalArgumentException("cannot join " + first.name + " and " + second.name + ": "
                    + first.channels + " vs " + second.channels + " channels, classes " + first.classNames + " vs "
                    + second.classNames);
        }
        int n = first.length();
        int m = second.length();
        byte[][] p = new byte[n + m][];
        int[] h = new int[n + m];
        int[] w = new int[n + m];
        int[] l = new int[n + m];
        for (int i = 0; i < n + m; i++) {
            ImageDataset d = i < n ? first : second;
            int j = i < n ? i : i - n;
            p[i] = d.pixels[j];
            h[i] = d.heights[j];
            w[i] = d.widths[j];
            l[i] = d.labels[j];
        }
        return new ImageDataset(name, first.channels, p, h, w, l, first.classNames, first.preprocess);
    }

    /** The dataset's name (a packaged name or a folder). */
    public String name() {
        return name;
    }

    /** Number of images. */
    public int length() {
        return pixels.length;
    }

    /** Channels of the stored images (1 or 3), before {@link Preprocess#channels()}. */
    public int storedChannels() {
        return channels;
    }

    /** Channels of the images this dataset serves. */
    public int outputChannels() {
        return preprocess.channels() > 0 ? preprocess.channels() : channels;
    }

    /** Height of image {@code i} as stored. */
    public int storedHeight(int i) {
        return heights[i];
    }

    /** Width of image {@code i} as stored. */
    public int storedWidth(int i) {
        return widths[i];
    }

    /** The label of image {@code i}, or -1. */
    public int label(int i) {
        return labels[i];
    }

    /** Whether every image has a label. */
    public boolean isLabelled() {
        for (int l : labels) {
            if (l < 0) {
                return false;
            }
        }
        return labels.length > 0;
    }

    /** Class names, indexed by label (empty for an unlabelled set). */
    public List<String> classNames() {
        return classNames;
    }

    /** The preprocessing applied to each served image. */
    public Preprocess preprocess() {
        return preprocess;
    }

    /** The same images served with other preprocessing. */
    public ImageDataset withPreprocess(Preprocess p) {
        return new ImageDataset(name, channels, pixels, heights, widths, labels, classNames, p);
    }

    /** The first {@code n} images after a seeded shuffle (or all of them when {@code n} is at least the size). */
    public ImageDataset limit(int n, long seed) {
        if (n <= 0) {
            throw new IllegalArgumentException("limit must be positive, got " + n);
        }
        if (n >= length()) {
            return this;
        }
        int[] order = permutation(length(), new Random(seed));
        return subset(java.util.Arrays.copyOf(order, n));
    }

    /** The images at {@code indices}, in that order. */
    public ImageDataset subset(int[] indices) {
        byte[][] p = new byte[indices.length][];
        int[] h = new int[indices.length];
        int[] w = new int[indices.length];
        int[] l = new int[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = indices[k];
            p[k] = pixels[i];
            h[k] = heights[i];
            w[k] = widths[i];
            l[k] = labels[i];
        }
        return new ImageDataset(name, channels, p, h, w, l, classNames, preprocess);
    }

    /** Image {@code i} as stored, CHW in [0, 1]. */
    public float[] rawImage(int i) {
        byte[] b = pixels[i];
        float[] f = new float[b.length];
        for (int k = 0; k < b.length; k++) {
            f[k] = (b[k] & 0xFF) / 255f;
        }
        return f;
    }

    /** Image {@code i} after preprocessing, CHW in [-1, 1]. */
    public float[] image(int i, Random rng) {
        return preprocess.apply(rawImage(i), channels, heights[i], widths[i], rng);
    }

    /**
     * The images at {@code indices} as one NCHW float32 array in [-1, 1]. All images must come out the same
     * size: set {@link Preprocess#imageSize()} for folders of mixed sizes.
     */
    public NDArray images(NDManager manager, int[] indices, Random rng) {
        int c = outputChannels();
        float[] first = image(indices[0], rng);
        int h = outHeight(indices[0]);
        int w = first.length / c / h;
        float[] all = new float[first.length * indices.length];
        System.arraycopy(first, 0, all, 0, first.length);
        for (int k = 1; k < indices.length; k++) {
            float[] img = image(indices[k], rng);
            if (img.length != first.length) {
                throw new DataException("dataset '" + name + "' has images of different sizes (image " + indices[k]
                        + " is " + heights[indices[k]] + "x" + widths[indices[k]] + "): set an image size, e.g. "
                        + "dataset.withPreprocess(Preprocess.course(32)).");
            }
            System.arraycopy(img, 0, all, k * img.length, img.length);
        }
        return manager.create(all, new Shape(indices.length, c, h, w));
    }

    /** The labels at {@code indices} as an int64 array. */
    public NDArray labels(NDManager manager, int[] indices) {
        long[] l = new long[indices.length];
        for (int k = 0; k < indices.length; k++) {
            l[k] = labels[indices[k]];
        }
        return manager.create(l);
    }

    /** A batch: images NCHW in [-1, 1] and int64 labels (-1 where unlabelled). Close it when done. */
    public record Batch(NDArray images, NDArray labels, int[] indices) implements AutoCloseable {
        @Override
        public void close() {
            images.close();
            labels.close();
        }
    }

    /**
     * The batches of one epoch: a permutation seeded by {@code seed} and {@code epoch}, cut into batches of
     * {@code batchSize} (the last one may be smaller). Each epoch's order is the same on every run.
     */
    public Iterable<int[]> batches(int batchSize, long seed, int epoch) {
        checkBatchSize(batchSize);
        return cut(permutation(length(), new Random(seed * 1_000_003L + epoch)), batchSize);
    }

    /**
     * The images in their stored order, cut into batches of {@code batchSize} (the last one may be smaller): for
     * evaluating a model on the whole dataset.
     */
    public Iterable<int[]> inOrder(int batchSize) {
        checkBatchSize(batchSize);
        int[] order = new int[length()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        return cut(order, batchSize);
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
    }

    private static Iterable<int[]> cut(int[] order, int batchSize) {
        return () -> new Iterator<>() {
            int pos;

            @Override
            public boolean hasNext() {
                return pos < order.length;
            }

            @Override
            public int[] next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                int end = Math.min(order.length, pos + batchSize);
                int[] b = java.util.Arrays.copyOfRange(order, pos, end);
                pos = end;
                return b;
            }
        };
    }

    /** Loads the batch at {@code indices}, flipping with a generator seeded from the indices and {@code seed}. */
    public Batch batch(NDManager manager, int[] indices, long seed) {
        Random rng = new Random(seed ^ java.util.Arrays.hashCode(indices));
        return new Batch(images(manager, indices, rng), labels(manager, indices), indices);
    }

    /** Number of images per label (index = label). */
    public int[] countsPerClass() {
        int[] counts = new int[Math.max(classNames.size(), 1)];
        for (int l : labels) {
            if (l >= 0) {
                if (l >= counts.length) {
                    counts = java.util.Arrays.copyOf(counts, l + 1);
                }
                counts[l]++;
            }
        }
        return counts;
    }

    // --- DJL Dataset ---

    @Override
    public Record get(NDManager manager, long index) {
        int i = Math.toIntExact(index);
        float[] img = image(i, new Random(index));
        int h = outHeight(i);
        int w = img.length / outputChannels() / h;
        NDArray x = manager.create(img, new Shape(outputChannels(), h, w));
        return new Record(new NDList(x), new NDList(manager.create((long) labels[i])));
    }

    @Override
    protected long availableSize() {
        return length();
    }

    @Override
    public void prepare(Progress progress) {
        // held in memory already
    }

    @Override
    public String toString() {
        return "ImageDataset[" + name + ", " + length() + " images, " + channels + " channel(s)"
                + (classNames.isEmpty() ? "" : ", classes " + classNames) + "]";
    }

    private int outHeight(int i) {
        return preprocess.imageSize() > 0 ? preprocess.imageSize() : heights[i];
    }

    static int[] permutation(int n, Random rng) {
        List<Integer> idx = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            idx.add(i);
        }
        Collections.shuffle(idx, rng);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = idx.get(i);
        }
        return out;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static final class Builder extends BaseBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}
