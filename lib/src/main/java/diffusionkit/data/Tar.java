package diffusionkit.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/** Extracts regular files from a gzip-compressed (ustar/pax) tarball such as {@code npm pack} writes. */
final class Tar {

    private Tar() {}

    /**
     * Extracts the regular files whose path passes {@code wanted} into {@code dest}, refusing any path that
     * would leave it. Returns the number of files written.
     */
    static int extract(Path tgz, Path dest, Predicate<String> wanted) throws IOException {
        int written = 0;
        Path root = dest.toAbsolutePath().normalize();
        try (InputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            byte[] header = new byte[512];
            String paxPath = null;
            while (true) {
                if (in.readNBytes(header, 0, 512) < 512) {
                    throw new IOException(tgz + ": tarball ends in the middle of a header (truncated download).");
                }
                if (isZero(header)) {
                    break;
                }
                String name = field(header, 0, 100);
                String prefix = field(header, 345, 155);
                if (!prefix.isEmpty()) {
                    name = prefix + "/" + name;
                }
                long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
                char type = (char) header[156];
                long padded = (size + 511) / 512 * 512;
                if (type == 'x') {
                    byte[] pax = in.readNBytes((int) size);
                    in.skipNBytes(padded - size);
                    paxPath = paxPath(new String(pax, StandardCharsets.UTF_8));
                    continue;
                }
                if (paxPath != null) {
                    name = paxPath;
                    paxPath = null;
                }
                boolean regular = type == '0' || type == 0;
                if (regular && wanted.test(name)) {
                    Path out = root.resolve(name).normalize();
                    if (!out.startsWith(root)) {
                        throw new IOException(tgz + ": entry '" + name + "' points outside the extraction folder.");
                    }
                    Files.createDirectories(out.getParent());
                    try (var os = Files.newOutputStream(out)) {
                        long left = size;
                        byte[] buf = new byte[1 << 16];
                        while (left > 0) {
                            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                            if (n < 0) {
                                throw new IOException(tgz + ": tarball ends inside '" + name + "' (truncated download).");
                            }
                            os.write(buf, 0, n);
                            left -= n;
                        }
                    }
                    in.skipNBytes(padded - size);
                    written++;
                } else {
                    in.skipNBytes(padded);
                }
            }
        }
        return written;
    }

    private static String paxPath(String records) {
        for (String line : records.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0 && line.startsWith("path=", sp + 1)) {
                return line.substring(sp + 1 + 5);
            }
        }
        return null;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
