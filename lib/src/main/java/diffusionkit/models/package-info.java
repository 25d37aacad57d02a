/**
 * diffusers' {@code UNet2DModel} in DJL: {@link diffusionkit.models.UNet2DModel} with its
 * {@link diffusionkit.models.UNet2DConfig} ({@code config.json}), and the blocks it is made of, each named
 * after its diffusers class and module path so that diffusers state dicts load key for key:
 * {@link diffusionkit.models.ResnetBlock2D}, {@link diffusionkit.models.Attention},
 * {@link diffusionkit.models.DownBlock2D}, {@link diffusionkit.models.AttnDownBlock2D},
 * {@link diffusionkit.models.UpBlock2D}, {@link diffusionkit.models.AttnUpBlock2D},
 * {@link diffusionkit.models.UNetMidBlock2D}, {@link diffusionkit.models.Downsample2D},
 * {@link diffusionkit.models.Upsample2D}, and the layers {@link diffusionkit.models.GroupNorm},
 * {@link diffusionkit.models.Conv2dLayer}, {@link diffusionkit.models.LinearLayer},
 * {@link diffusionkit.models.EmbeddingLayer}, {@link diffusionkit.models.Timesteps},
 * {@link diffusionkit.models.TimestepEmbedding}.
 */
package diffusionkit.models;
