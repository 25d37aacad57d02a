/**
 * Training diffusion models: {@link diffusionkit.training.DiffusionTrainer}, the one noise-prediction loop (the
 * course's {@code finetune_model.py}, and its class-conditioning notebook's loop for a class-conditional model), its
 * {@link diffusionkit.training.TrainingConfig}, checkpoints that resume exactly
 * ({@link diffusionkit.training.Checkpoints}), the optimiser {@link diffusionkit.training.AdamW},
 * {@link diffusionkit.training.ExponentialLR} and the weight average {@link diffusionkit.training.Ema}. What a run
 * reports goes through {@link diffusionkit.training.TrainingListener}s: the loss table, chart and summary
 * ({@link diffusionkit.training.LossTable}), the course's epoch line ({@link diffusionkit.training.EpochLossPrinter}),
 * progress bars and live plots.
 */
package diffusionkit.training;
