package diffusionkit.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Checksums of files: the SHA-256 of dataset tarballs and hub blobs, git's blob hash of small hub files. */
public final class Checksums {

    private Checksums() {}

    /** The SHA-256 of a file, lower-case hex. */
    public static String sha256(Path file) throws IOException {
        return digest("SHA-256", new byte[0], file);
    }

    /** The digest ({@code "SHA-256"}, {@code "SHA-1"}, ...) of {@code prefix} followed by the file's bytes, hex. */
    public static String digest(String algorithm, byte[] prefix, Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            md.update(prefix);
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
