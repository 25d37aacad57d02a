/**
 * Guidance: steering an unconditional diffusion model at sampling time by a loss on the predicted clean image
 * (the Hugging Face Diffusion Models course, Unit 2, "Guidance").
 *
 * <ul>
 *   <li>{@link diffusionkit.guidance.GuidanceLoss}: x̂_0 → scalar loss; {@link diffusionkit.guidance.ColorLoss},
 *       {@link diffusionkit.guidance.ClipGuidance}, {@link diffusionkit.guidance.ClassifierGuidance} are three.</li>
 *   <li>{@link diffusionkit.guidance.GuidedSampler}: guided DDIM, the pipeline's one loop with a guide that moves x
 *       against the loss gradient: variants 1 and 2 ({@link diffusionkit.guidance.GuidanceVariant}), schedule factors
 *       ({@link diffusionkit.guidance.ScheduleFactor}), gradient clipping, loss logging.</li>
 *   <li>The classifiers that classifier guidance uses are {@code diffusionkit.classify}'s.</li>
 *   <li>{@link diffusionkit.guidance.GuidanceSchedules}: the course's plot of the schedule factors.</li>
 * </ul>
 */
package diffusionkit.guidance;
