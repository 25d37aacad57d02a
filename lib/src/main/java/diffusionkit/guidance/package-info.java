/**
 * Guidance: steering an unconditional diffusion model at sampling time by a loss on the predicted clean image
 * (the Hugging Face Diffusion Models course, Unit 2, "Guidance").
 *
 * <ul>
 *   <li>{@link diffusionkit.guidance.GuidanceLoss}: x̂_0 → scalar loss; {@link diffusionkit.guidance.ColorLoss},
 *       {@link diffusionkit.guidance.ClipGuidance}, {@link diffusionkit.guidance.ClassifierGuidance} are three.</li>
 *   <li>{@link diffusionkit.guidance.GuidedSampler}: the guided DDIM loop, variants 1 and 2
 *       ({@link diffusionkit.guidance.GuidanceVariant}), schedule factors ({@link diffusionkit.guidance.ScheduleFactor}),
 *       gradient clipping, loss logging.</li>
 *   <li>{@link diffusionkit.guidance.ImageClassifier} and {@link diffusionkit.guidance.ClassifierTraining}: a small
 *       convolutional classifier for classifier guidance, trained offline on a packaged dataset.</li>
 *   <li>{@link diffusionkit.guidance.GuidanceSchedules}: the course's plot of the schedule factors.</li>
 * </ul>
 */
package diffusionkit.guidance;
