package diffusionkit.models;

import java.util.List;

/**
 * A state dict does not fit a model: some keys are missing, some are unexpected, some have another shape.
 * The message lists all of them (with expected and found shapes); the lists are also available one by one.
 */
public final class StateDictMismatchException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> mismatched;

    StateDictMismatchException(String message, List<String> missing, List<String> unexpected, List<String> mismatched) {
        super(message);
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.mismatched = List.copyOf(mismatched);
    }

    /** Keys the model has and the state dict lacks. */
    public List<String> missingKeys() {
        return missing;
    }

    /** Keys of the state dict the model does not have. */
    public List<String> unexpectedKeys() {
        return unexpected;
    }

    /** Keys present in both with different shapes, each as {@code key: expected [..], found [..]}. */
    public List<String> mismatchedKeys() {
        return mismatched;
    }
}
