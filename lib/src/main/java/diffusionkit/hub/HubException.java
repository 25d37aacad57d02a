package diffusionkit.hub;

import diffusionkit.io.CheckpointException;

/**
 * A hub file that cannot be had: the message names the repository, the file, what went wrong and the fix. The
 * {@link Reason} tells a program which of huggingface_hub's errors it is.
 */
public class HubException extends CheckpointException {

    private static final long serialVersionUID = 1L;

    /** Why the file cannot be had (huggingface_hub's error classes). */
    public enum Reason {
        /** No such repository, or a private one without a token ({@code RepositoryNotFoundError}). */
        REPO_NOT_FOUND,
        /** A gated repository and no token, or one without access ({@code GatedRepoError}). */
        GATED,
        /** No such branch, tag or commit ({@code RevisionNotFoundError}). */
        REVISION_NOT_FOUND,
        /** No such file at that revision ({@code EntryNotFoundError}). */
        ENTRY_NOT_FOUND,
        /** Offline (or the hub unreachable) and not in the cache ({@code LocalEntryNotFoundError}). */
        NOT_IN_CACHE,
        /** The bytes do not match the size or checksum the hub announced, or a cached blob changed. */
        CORRUPTED,
        /** The hub answered with an error the kit cannot act on (5xx, a malformed answer). */
        HUB_ERROR
    }

    private final Reason reason;

    /** @param message what, where and the fix */
    public HubException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** @param message what, where and the fix */
    public HubException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** Which error it is. */
    public Reason reason() {
        return reason;
    }
}
