package diffusionkit.guidance;

/** Told about every guided step (loss, gradient norm, factor), e.g. to plot the loss along sampling. */
@FunctionalInterface
public interface GuidanceListener {

    /** Called once per step, after the guidance update and before the scheduler step. */
    void onStep(GuidanceStep step);
}
