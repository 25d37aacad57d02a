package diffusionkit.io;

import java.io.IOException;

/** A checkpoint file or folder that cannot be read as asked; the message names the file, the problem and the fix. */
public class CheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
