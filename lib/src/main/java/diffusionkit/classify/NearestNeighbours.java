package diffusionkit.classify;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.data.ImageDataset;

import java.util.Random;
import java.util.stream.IntStream;

/**
 * A k-nearest-neighbour classifier in pixel space (Euclidean distance, majority vote of the k nearest training
 * images; a tied vote goes to the tied class with the nearest neighbour). It learns nothing and has no gradient:
 * a judge of generated samples that is independent of any trained classifier, in particular of the one that
 * guided them (guidance pushes samples towards what the guiding network likes, which need not be what the data
 * looks like; a neighbour in pixel space is a real training image).
 *
 * <p>On MNIST with k = 3 and the 60,000 training digits it recognises about 97% of the test digits (the classical
 * figure for L2 k-NN). The training images are held as one float32 array [N, C*H*W] on the manager's device
 * (MNIST: 188 MB); {@link #predict} compares in chunks of 256 queries, one matrix product each.
 */
public final class NearestNeighbours implements AutoCloseable {

    private static final int CHUNK = 256;

    private final int k;
    private final int[] labels;
    private final int numClasses;
    private final NDManager manager;
    private final NDArray trainImages;   // [N, C, H, W] as created: it owns the memory that train views
    private final NDArray train;         // [N, D], a view of trainImages
    private final NDArray halfSqNorms;   // [N]: |t|^2 / 2

    private NearestNeighbours(int k, int[] labels, int numClasses, NDManager manager, NDArray trainImages) {
        this.k = k;
        this.labels = labels;
        this.numClasses = numClasses;
        this.manager = manager;
        this.trainImages = trainImages;
        this.train = trainImages.reshape(labels.length, -1);
        try (NDArray sq = train.square(); NDArray sum = sq.sum(new int[] {1})) {
            this.halfSqNorms = sum.div(2f);
        }
    }

    /**
     * A judge holding every image of {@code data} (as its {@link ImageDataset#preprocess()} yields it, in [-1, 1];
     * random flips, if any, with a fixed seed) and its label.
     *
     * @param k neighbours that vote (1 to the dataset's size)
     * @param manager owns the training array; close the judge (or the manager) to free it
     * @throws IllegalArgumentException when the dataset is empty or unlabelled, or k is out of range
     */
    public static NearestNeighbours fit(ImageDataset data, int k, NDManager manager) {
        int n = data.length();
        if (n == 0 || !data.isLabelled()) {
            throw new IllegalArgumentException("NearestNeighbours needs labelled images, and dataset '" + data.name()
                    + "' is " + (n == 0 ? "empty" : "unlabelled") + ": fit it on e.g. PackagedDatasets.defaults().load(\"mnist\").");
        }
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k must be between 1 and the dataset's " + n + " images, got " + k);
        }
        int[] labels = new int[n];
        int numClasses = data.classNames().size();
        for (int i = 0; i < n; i++) {
            labels[i] = data.label(i);
            numClasses = Math.max(numClasses, labels[i] + 1);
        }
        NDManager own = manager.newSubManager();
        // On the CPU, create() wraps a Java buffer that the created array keeps alive (torch::from_blob): the judge
        // holds that array as long as it reads the reshaped view (closing it crashed the matmul once the GC ran).
        NDArray images = data.images(own, IntStream.range(0, n).toArray(), new Random(0));
        return new NearestNeighbours(k, labels, numClasses, own, images);
    }

    /** The number of neighbours that vote. */
    public int k() {
        return k;
    }

    /** The number of training images. */
    public int size() {
        return labels.length;
    }

    /**
     * The predicted class of each image [N, C, H, W] in [-1, 1] (the shape of the training images).
     *
     * @throws IllegalArgumentException when the images have another shape than the training images
     */
    public long[] predict(NDArray images) {
        Shape s = images.getShape();
        Shape chw = trainImages.getShape().slice(1);
        if (s.dimension() != 4 || !s.slice(1).equals(chw)) {
            throw new IllegalArgumentException("NearestNeighbours: images must be [N, " + chw.get(0) + ", " + chw.get(1)
                    + ", " + chw.get(2) + "] in [-1, 1] like the images it was fit on, got " + s);
        }
        int n = (int) s.get(0);
        long[] out = new long[n];
        try (NDManager sub = manager.newSubManager()) {
            NDArray copy = images.toDevice(manager.getDevice(), true);
            copy.attach(sub);
            NDArray queries = copy.reshape(n, -1);
            queries.attach(sub);
            NDArray trainT = train.transpose();
            trainT.attach(sub);
            for (int from = 0; from < n; from += CHUNK) {
                int to = Math.min(n, from + CHUNK);
                // |q - t|^2 / 2 = |q|^2 / 2 + |t|^2 / 2 - q.t: the first term is the same for every t of a query
                NDArray q = queries.get(from + ":" + to);
                float[] d;
                try (NDArray dot = q.matMul(trainT); NDArray score = halfSqNorms.sub(dot)) {
                    d = score.toFloatArray();
                }
                q.close();
                for (int i = 0; i < to - from; i++) {
                    out[from + i] = vote(d, i * labels.length);
                }
            }
        }
        return out;
    }

    /** The share of {@code data} whose label {@link #predict} gives, in chunks of 256 images. */
    public double accuracy(ImageDataset data) {
        long correct = 0;
        for (int[] idx : data.inOrder(CHUNK)) {
            try (NDManager sm = manager.newSubManager(); NDArray x = data.images(sm, idx, new Random(0))) {
                long[] pred = predict(x);
                for (int i = 0; i < idx.length; i++) {
                    correct += pred[i] == data.label(idx[i]) ? 1 : 0;
                }
            }
        }
        return (double) correct / data.length();
    }

    /** The vote of the k smallest of {@code d[offset .. offset + size())}. */
    private int vote(float[] d, int offset) {
        int n = labels.length;
        int[] nearest = new int[k];   // indices, nearest first (insertion into a sorted list of k)
        float[] dist = new float[k];
        int found = 0;
        for (int j = 0; j < n; j++) {
            float v = d[offset + j];
            if (found == k && v >= dist[k - 1]) {
                continue;
            }
            int pos = found < k ? found++ : k - 1;
            while (pos > 0 && dist[pos - 1] > v) {
                dist[pos] = dist[pos - 1];
                nearest[pos] = nearest[pos - 1];
                pos--;
            }
            dist[pos] = v;
            nearest[pos] = j;
        }
        int[] votes = new int[numClasses];
        int best = 0;
        for (int i = 0; i < k; i++) {
            best = Math.max(best, ++votes[labels[nearest[i]]]);
        }
        for (int i = 0; i < k; i++) {          // a tie goes to the tied class met first, i.e. with the nearest neighbour
            if (votes[labels[nearest[i]]] == best) {
                return labels[nearest[i]];
            }
        }
        throw new AssertionError("unreachable");
    }

    @Override
    public void close() {
        manager.close();
    }
}
