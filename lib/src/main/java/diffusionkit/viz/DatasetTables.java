package diffusionkit.viz;

import diffusionkit.data.ImageDataset;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** Tablesaw summaries of datasets. */
public final class DatasetTables {

    private DatasetTables() {}

    /**
     * One row per class (one row in all for an unlabelled set): class name, image count, image size (as stored,
     * "mixed" when sizes differ), and mean pixel value in [0, 1].
     */
    public static Table summary(ImageDataset d) {
        int classes = Math.max(1, d.classNames().size());
        int[] counts = new int[classes];
        double[] sums = new double[classes];
        long[] pixels = new long[classes];
        String[] sizes = new String[classes];
        for (int i = 0; i < d.length(); i++) {
            int c = Math.max(0, d.label(i));
            float[] img = d.rawImage(i);
            double s = 0;
            for (float v : img) {
                s += v;
            }
            counts[c]++;
            sums[c] += s;
            pixels[c] += img.length;
            String size = d.storedChannels() + "x" + d.storedHeight(i) + "x" + d.storedWidth(i);
            sizes[c] = sizes[c] == null || sizes[c].equals(size) ? size : "mixed";
        }
        StringColumn name = StringColumn.create("class");
        IntColumn count = IntColumn.create("count");
        StringColumn size = StringColumn.create("image size (CxHxW)");
        DoubleColumn mean = DoubleColumn.create("mean pixel");
        for (int c = 0; c < classes; c++) {
            name.append(d.classNames().isEmpty() ? "(all)" : d.classNames().get(c));
            count.append(counts[c]);
            size.append(sizes[c] == null ? "-" : sizes[c]);
            mean.append(pixels[c] == 0 ? Double.NaN : sums[c] / pixels[c]);
        }
        return Table.create(d.name(), name, count, size, mean);
    }
}
