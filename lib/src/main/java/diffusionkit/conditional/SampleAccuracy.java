package diffusionkit.conditional;

import ai.djl.ndarray.NDArray;
import diffusionkit.classify.Classifier;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.List;

/**
 * How many generated samples a classifier recognises as the class that was asked for: overall and per class.
 *
 * @param requested the label each sample was generated for
 * @param recognised the classifier's prediction for each sample
 * @param numClasses number of classes
 */
public record SampleAccuracy(long[] requested, long[] recognised, int numClasses) {

    /** Checks that both arrays have one entry per sample. */
    public SampleAccuracy {
        if (requested.length != recognised.length) {
            throw new IllegalArgumentException("requested (" + requested.length + ") and recognised ("
                    + recognised.length + ") must have one entry per sample");
        }
    }

    /**
     * Classifies {@code images} (e.g. {@link ConditionalSampler#sample} output, [N, 1, 28, 28] in [-1, 1]) and
     * compares with {@code labels}.
     */
    public static SampleAccuracy judge(Classifier classifier, NDArray images, long[] labels) {
        NDArray input = classifier.prepare(images); // e.g. 28x28 grey samples for a 32x32 RGB classifier
        try (NDArray predicted = classifier.predict(input)) {
            if (input != images) {
                input.close();
            }
            return new SampleAccuracy(labels, predicted.toLongArray(), classifier.numClasses());
        }
    }

    /** The share of all samples recognised as their requested class. */
    public double accuracy() {
        return accuracy(-1);
    }

    /** The share of the samples of class {@code c} recognised as {@code c} (-1: all classes); NaN when none. */
    public double accuracy(int c) {
        int n = 0;
        int ok = 0;
        for (int i = 0; i < requested.length; i++) {
            if (c < 0 || requested[i] == c) {
                n++;
                ok += requested[i] == recognised[i] ? 1 : 0;
            }
        }
        return n == 0 ? Double.NaN : (double) ok / n;
    }

    /**
     * A table with one row per class and a final "all" row: {@code class}, {@code name}, {@code samples},
     * {@code recognised}, {@code accuracy}.
     *
     * @param title the table's name
     * @param classNames names of the classes (null: the indices)
     */
    public Table table(String title, List<String> classNames) {
        StringColumn cls = StringColumn.create("class");
        StringColumn name = StringColumn.create("name");
        IntColumn samples = IntColumn.create("samples");
        IntColumn ok = IntColumn.create("recognised");
        DoubleColumn acc = DoubleColumn.create("accuracy");
        for (int c = -1; c < numClasses; c++) {
            int n = 0;
            int k = 0;
            for (int i = 0; i < requested.length; i++) {
                if (c < 0 || requested[i] == c) {
                    n++;
                    k += requested[i] == recognised[i] ? 1 : 0;
                }
            }
            if (c >= 0 && n == 0) {
                continue;
            }
            cls.append(c < 0 ? "all" : Integer.toString(c));
            name.append(c < 0 ? "" : classNames != null && c < classNames.size() ? classNames.get(c) : Integer.toString(c));
            samples.append(n);
            ok.append(k);
            acc.append(n == 0 ? Double.NaN : (double) k / n);
        }
        // the "all" row last
        Table t = Table.create(title, cls, name, samples, ok, acc);
        return t.dropRows(0).append(t.first(1));
    }
}
