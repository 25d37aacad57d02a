package diffusionkit.guidance;

/**
 * A per-step weight of the guidance update, a function of ᾱ (the course plots these four and uses √ᾱ for CLIP
 * guidance): large ᾱ (little noise, late steps) against small ᾱ (early steps).
 */
public enum ScheduleFactor {

    /** 1 at every step (the colour guidance of the course). */
    NONE,
    /** ᾱ. */
    ALPHA_BAR,
    /** √ᾱ (the course's CLIP guidance). */
    SQRT_ALPHA_BAR,
    /** √(1 − ᾱ). */
    SQRT_ONE_MINUS_ALPHA_BAR;

    /** The factor for a cumulative alpha ᾱ. */
    public double apply(double alphaBar) {
        return switch (this) {
            case NONE -> 1.0;
            case ALPHA_BAR -> alphaBar;
            case SQRT_ALPHA_BAR -> Math.sqrt(alphaBar);
            case SQRT_ONE_MINUS_ALPHA_BAR -> Math.sqrt(1.0 - alphaBar);
        };
    }

    /** A label for charts: "no scaling", "ᾱ", "√ᾱ", "√(1−ᾱ)". */
    public String label() {
        return switch (this) {
            case NONE -> "no scaling";
            case ALPHA_BAR -> "ᾱ";
            case SQRT_ALPHA_BAR -> "√ᾱ";
            case SQRT_ONE_MINUS_ALPHA_BAR -> "√(1−ᾱ)";
        };
    }
}
