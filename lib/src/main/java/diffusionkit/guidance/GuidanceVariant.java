package diffusionkit.guidance;

/** Where the guidance gradient is taken, the two variants of the course's colour guidance. */
public enum GuidanceVariant {

    /**
     * Variant 1: the UNet's noise prediction ε̂ is a constant; the gradient flows only through the x̂_0 formula
     * x̂_0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t, so for ε-prediction d loss/d x_t = (1/√ᾱ_t)·d loss/d x̂_0. Cheap: the UNet
     * runs without building a graph.
     */
    X0_ONLY,

    /**
     * Variant 2: x_t requires a gradient before the UNet call, so the gradient also flows through ε̂(x_t).
     * Costs a backward pass through the UNet (about 2-3 times the memory and time of variant 1).
     */
    THROUGH_UNET
}
