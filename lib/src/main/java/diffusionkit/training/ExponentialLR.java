package diffusionkit.training;

/** PyTorch's {@code ExponentialLR}: after each epoch, {@code lr ← lr · γ} (finetune_model.py uses γ = 0.9). */
public final class ExponentialLR {

    private final AdamW optimizer;
    private final double initial;
    private final double gamma;

    public ExponentialLR(AdamW optimizer, double gamma) {
        if (gamma <= 0) {
            throw new IllegalArgumentException("gamma must be positive, got " + gamma);
        }
        this.optimizer = optimizer;
        this.initial = optimizer.learningRate();
        this.gamma = gamma;
    }

    /** Sets the learning rate for {@code epochsDone} completed epochs: {@code lr0 · γ^epochsDone}. */
    public void setEpoch(int epochsDone) {
        optimizer.setLearningRate(initial * Math.pow(gamma, epochsDone));
    }
}
