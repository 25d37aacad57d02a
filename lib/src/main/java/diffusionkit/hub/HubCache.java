package diffusionkit.hub;

import diffusionkit.util.AtomicFiles;
import diffusionkit.util.Checksums;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The Hugging Face cache on disk, laid out as huggingface_hub lays it out (and reads it), so that a model either side
 * downloaded is found by the other:
 *
 * <pre>
 * &lt;cache&gt;/models--google--ddpm-cifar10-32/
 *     blobs/&lt;etag&gt;                         the files' bytes, named by their etag (sha256 of an LFS file, git sha1
 *                                          of a small one); a partial download is &lt;etag&gt;.incomplete
 *     refs/main                             the commit that "main" pointed to at the last download
 *     snapshots/&lt;commit&gt;/unet/config.json  relative symbolic links into blobs/
 *     .no_exist/&lt;commit&gt;/&lt;file&gt;            empty files: "the hub said this file does not exist at that commit"
 * </pre>
 */
public final class HubCache {

    /** A commit hash, as huggingface_hub's {@code REGEX_COMMIT_HASH}. */
    static final Pattern COMMIT_HASH = Pattern.compile("^[0-9a-f]{40}$");
    /** A sha256 etag: the file is stored with git LFS and its etag is its checksum. */
    static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
    private static final Pattern REPO_ID = Pattern.compile("^[\\w\\-.]{1,96}(/[\\w\\-.]{1,96})?$");

    private final Path root;

    /** The cache at {@code root} (it need not exist yet). */
    public HubCache(Path root) {
        this.root = root.toAbsolutePath();
    }

    /** The cache folder. */
    public Path root() {
        return root;
    }

    /**
     * Whether {@code s} is a valid model repository id ({@code name} or {@code org/name}: letters, digits, '-', '_',
     * '.', no "--" or "..", not starting or ending with '-' or '.'), as huggingface_hub's {@code validate_repo_id}.
     */
    public static boolean isRepoId(String s) {
        if (s == null || s.length() > 96 || !REPO_ID.matcher(s).matches() || s.contains("--") || s.contains("..")) {
            return false;
        }
        for (String part : s.split("/")) {
            if (part.startsWith("-") || part.startsWith(".") || part.endsWith("-") || part.endsWith(".")) {
                return false;
            }
        }
        return true;
    }

    /** The folder of a model repository: {@code models--org--name}. */
    public Path repoFolder(String repoId) {
        if (!isRepoId(repoId)) {
            throw new IllegalArgumentException("'" + repoId + "' is not a hub repository id (org/name)");
        }
        return root.resolve("models--" + repoId.replace("/", "--"));
    }

    /** The commit {@code revision} resolves to: itself when a commit hash, else the content of {@code refs/<revision>}. */
    public Optional<String> commitOf(String repoId, String revision) throws IOException {
        if (COMMIT_HASH.matcher(revision).matches()) {
            return Optional.of(revision);
        }
        Path ref = repoFolder(repoId).resolve("refs").resolve(revision);
        if (!Files.isRegularFile(ref)) {
            return Optional.empty();
        }
        String commit = Files.readString(ref).strip();
        return COMMIT_HASH.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
    }

    /** Records that {@code revision} (a branch or tag) points to {@code commit}; nothing for a commit hash. */
    public void writeRef(String repoId, String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = repoFolder(repoId).resolve("refs").resolve(revision);
        if (Files.isRegularFile(ref) && Files.readString(ref).equals(commit)) {
            return;
        }
        Files.createDirectories(ref.getParent());
        AtomicFiles.writeString(ref, commit); // no newline, as huggingface_hub writes it
    }

    /** The snapshot folder of a commit: every downloaded file of that commit, as links, under its repo path. */
    public Path snapshot(String repoId, String commit) {
        return repoFolder(repoId).resolve("snapshots").resolve(commit);
    }

    /** The path a file of a commit has in the snapshot (whether it is there or not). */
    public Path pointer(String repoId, String commit, String filename) {
        return snapshot(repoId, commit).resolve(filename);
    }

    /** The blob of an etag. */
    public Path blob(String repoId, String etag) {
        return repoFolder(repoId).resolve("blobs").resolve(etag);
    }

    /** The partial download of a blob. */
    public Path incomplete(String repoId, String etag) {
        return repoFolder(repoId).resolve("blobs").resolve(etag + ".incomplete");
    }

    /** The lock file that keeps two kit processes from downloading one blob at once. */
    public Path lock(String repoId, String etag) {
        return root.resolve(".locks").resolve(repoFolder(repoId).getFileName()).resolve(etag + ".lock");
    }

    /** Whether the hub said {@code filename} does not exist at {@code commit}. */
    public boolean knownMissing(String repoId, String commit, String filename) {
        return Files.isRegularFile(repoFolder(repoId).resolve(".no_exist").resolve(commit).resolve(filename));
    }

    /** Records that {@code filename} does not exist at {@code commit} (best effort, as huggingface_hub). */
    public void markMissing(String repoId, String commit, String filename) {
        Path p = repoFolder(repoId).resolve(".no_exist").resolve(commit).resolve(filename);
        try {
            Files.createDirectories(p.getParent());
            if (!Files.exists(p)) {
                Files.createFile(p);
            }
        } catch (IOException e) {
            // a cache we cannot write to only costs a request next time
        }
    }

    /**
     * Links {@code pointer} to its blob by a relative symbolic link ({@code ../../blobs/<etag>}), which survives moving the
     * cache; where links cannot be made, the blob is copied (a new blob is moved), as huggingface_hub does.
     */
    public void link(Path blob, Path pointer, boolean newBlob) throws IOException {
        Files.createDirectories(pointer.getParent());
        Files.deleteIfExists(pointer);
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        } catch (UnsupportedOperationException | FileSystemException e) {
            if (newBlob) {
                Files.move(blob, pointer, StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.copy(blob, pointer);
            }
        }
    }

    /** The SHA-256 of a file, hex. */
    public static String sha256(Path file) throws IOException {
        return Checksums.sha256(file);
    }

    /** The git blob hash of a file: sha1("blob " + size + "\0" + bytes), the etag of a small (non-LFS) hub file. */
    public static String gitBlobSha1(Path file) throws IOException {
        return Checksums.digest("SHA-1",
                ("blob " + Files.size(file) + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII), file);
    }

    /**
     * Checks a blob against its etag: the sha256 of an LFS file, the git blob hash of a small one (an etag of another
     * form, from a server that is not the hub, is not checked).
     *
     * @return null when it matches, else what was found
     */
    public static String mismatch(Path blob, String etag) throws IOException {
        if (SHA256.matcher(etag).matches()) {
            String actual = sha256(blob);
            return actual.equals(etag) ? null : "sha256 " + actual;
        }
        if (COMMIT_HASH.matcher(etag).matches()) {
            String actual = gitBlobSha1(blob);
            return actual.equals(etag) ? null : "git blob hash " + actual;
        }
        return null;
    }
}
