/**
 * Training diffusion models: {@link diffusionkit.training.DiffusionTrainer} (the noise-prediction loop of the
 * course's {@code finetune_model.py}), its {@link diffusionkit.training.TrainingConfig}, checkpoints that resume
 * exactly ({@link diffusionkit.training.Checkpoints}), the optimiser {@link diffusionkit.training.AdamW},
 * {@link diffusionkit.training.ExponentialLR} and the weight average {@link diffusionkit.training.Ema}.
 */
package diffusionkit.training;
