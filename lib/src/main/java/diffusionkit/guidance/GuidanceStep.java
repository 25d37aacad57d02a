package diffusionkit.guidance;

/**
 * What one guided step reports to a {@link GuidanceListener}.
 *
 * @param stepIndex 0-based index of the step (the course's {@code i})
 * @param timestep the timestep t
 * @param loss the guidance loss (unscaled) of x̂_0 at this step, before the update
 * @param scaledLoss {@code loss × guidanceScale}: what the course prints
 * @param gradNorm the L2 norm of the update {@code −d(scaledLoss)/dx × factor} after clipping, over the batch
 * @param factor the schedule factor applied at this step
 */
public record GuidanceStep(int stepIndex, long timestep, double loss, double scaledLoss, double gradNorm, double factor) {}
