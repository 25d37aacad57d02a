package diffusionkit.data;

/** Data that cannot be read or fetched as asked; the message names the file or dataset, the problem and the fix. */
public class DataException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
