package diffusionkit.io;

import java.io.IOException;

/** A checkpoint file or folder that cannot be read as asked; the message names the file, the problem and the fix. */
public class CheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    /** @param message what was wrong, where (file, key) and the fix */
    public CheckpointException(String message) {
        super(message);
    }

    /**
     * @param message what was wrong, where (file, key) and the fix
     * @param cause the lower-level error
     */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
