package diffusionkit.data;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads the IDX format of the original MNIST files (LeCun et al.): a magic number {@code 0x00000803}
 * (unsigned bytes, 3 dimensions) or {@code 0x00000801} (1 dimension), the big-endian dimensions, then the
 * bytes. The file length is checked against the dimensions, so a truncated download is reported, not read.
 */
public final class Idx {

    private Idx() {}

    /** An unsigned-byte IDX array: its dimensions and data. */
    public record Array(int[] dims, byte[] data) {
        /** Number of items (the first dimension). */
        public int count() {
            return dims[0];
        }

        /** Elements per item (the product of the other dimensions). */
        public int itemSize() {
            int n = 1;
            for (int i = 1; i < dims.length; i++) {
                n *= dims[i];
            }
            return n;
        }
    }

    /** Reads an unsigned-byte IDX file with {@code expectedDims} dimensions. */
    public static Array read(Path file, int expectedDims) {
        String fix = " Delete it and fetch the data again (bash datasets/fetch.sh).";
        try {
            long size = Files.size(file);
            try (InputStream raw = Files.newInputStream(file); DataInputStream in = new DataInputStream(raw)) {
                if (size < 4) {
                    throw new DataException(file + " is not an IDX file: it has only " + size + " bytes." + fix);
                }
                int magic = in.readInt();
                int type = (magic >>> 8) & 0xFF;
                int ndim = magic & 0xFF;
                if ((magic >>> 16) != 0 || type != 0x08) {
                    throw new DataException(file + " is not an unsigned-byte IDX file (magic 0x"
                            + Integer.toHexString(magic) + ", expected 0x0000080" + expectedDims + ")." + fix);
                }
                if (ndim != expectedDims) {
                    throw new DataException(file + " has " + ndim + " dimensions where " + expectedDims
                            + " were expected (images have 3, labels 1)." + fix);
                }
                if (size < 4 + 4L * ndim) {
                    throw new DataException(file + " is truncated: its header is incomplete." + fix);
                }
                int[] dims = new int[ndim];
                long n = 1;
                for (int i = 0; i < ndim; i++) {
                    dims[i] = in.readInt();
                    if (dims[i] < 0) {
                        throw new DataException(file + " declares a negative dimension." + fix);
                    }
                    n *= dims[i];
                }
                long expected = 4 + 4L * ndim + n;
                if (size != expected) {
                    throw new DataException(file + " is " + (size < expected ? "truncated" : "too long") + ": "
                            + Arrays.toString(dims) + " needs " + expected + " bytes, the file has " + size + "." + fix);
                }
                byte[] data = in.readNBytes((int) n);
                return new Array(dims, data);
            }
        } catch (IOException e) {
            throw new DataException("cannot read IDX file " + file + ": " + e.getMessage() + "." + fix, e);
        }
    }
}
