/**
 * Class-conditioned diffusion, the course's Unit 2 notebook 2 and beyond it.
 *
 * <ul>
 *   <li>{@link diffusionkit.models.ClassConditionedUNet}: the course's {@code ClassConditionedUnet} (a learned
 *       class embedding broadcast and concatenated as extra input channels of a {@code UNet2DModel}); or diffusers'
 *       own {@code num_class_embeds} route; optionally with a learned null class for classifier-free guidance.</li>
 *   <li>Training: the kit's one loop, {@link diffusionkit.training.DiffusionTrainer}, with the course's recipe
 *       {@link diffusionkit.training.TrainingConfig#conditionalCourse()} (batch 128, Adam 1e-3, MSE on the noise,
 *       {@code randint(0, 999)}) and optional label dropout; the scheduler is
 *       {@link diffusionkit.models.ClassConditionedUNet#courseScheduler()}.</li>
 *   <li>{@link diffusionkit.conditional.ConditionalSampler}: the course's sampling loop (DDPM 1000 steps, or DDIM),
 *       with classifier-free guidance.</li>
 *   <li>{@link diffusionkit.conditional.SampleAccuracy}: how many samples a classifier
 *       ({@link diffusionkit.classify.MnistClassifier}) recognises as the digit asked for.</li>
 *   <li>The commands are {@code diffusionkit.cli}'s: {@code ./kit train-conditional}, {@code ./kit evaluate-conditional}.</li>
 * </ul>
 */
package diffusionkit.conditional;
