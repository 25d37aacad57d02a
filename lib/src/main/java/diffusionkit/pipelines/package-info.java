/**
 * Pipelines: a UNet and a scheduler plus one readable denoising loop (DDPM ancestral sampling, DDIM), with a
 * per-step callback that sees the current x and the predicted x0; loading and saving the diffusers folder layout.
 */
package diffusionkit.pipelines;
