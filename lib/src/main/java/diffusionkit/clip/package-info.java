/**
 * CLIP for guidance: the byte-level BPE {@link diffusionkit.clip.ClipTokenizer}, the
 * {@link diffusionkit.clip.ClipModel} (openai/clip-vit-base-patch32 layout, numerically equal to Hugging Face
 * transformers' {@code CLIPModel}) with its {@link diffusionkit.clip.ClipConfig}, and the pieces of the course's
 * CLIP guidance: {@link diffusionkit.clip.ClipLoss} (squared great-circle distance, CLIP normalisation,
 * {@code n_cuts}, {@link diffusionkit.clip.ClipLoss#similarity}) and the seeded, differentiable
 * {@link diffusionkit.clip.ClipAugment}. {@link diffusionkit.clip.ClipTraining} trains one with CLIP's contrastive
 * loss ({@code ./kit train-clip}: the kit's emoji CLIP, {@code datasets/models/emoji-clip}).
 *
 * <pre>{@code
 * ClipModel clip = ClipModel.fromPretrained(folder, manager);        // config.json + model.safetensors
 * ClipTokenizer tokenizer = ClipTokenizer.fromPretrained(folder);    // vocab.json + merges.txt
 * NDArray target = ClipLoss.textFeatures(clip, tokenizer, "Red Rose (still life)", manager);
 * ClipLoss loss = ClipLoss.builder().setModel(clip).optAugment(true).optCuts(4).optSeed(42).build();
 * try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
 *     NDArray l = loss.compute(x0, target);                           // x0: pred_original_sample in [-1, 1]
 *     gc.backward(l);
 * }
 * }</pre>
 */
package diffusionkit.clip;
