/**
 * Models by Hugging Face Hub id, as diffusers' {@code from_pretrained} finds them: {@link diffusionkit.hub.Pretrained}
 * turns an id ({@code google/ddpm-celebahq-256}), a kit model name or a folder into the folder a loader reads;
 * {@link diffusionkit.hub.Hub} downloads files into the cache Python's huggingface_hub uses
 * ({@link diffusionkit.hub.HubCache}: a model either side downloaded is found by the other), with the same environment
 * variables ({@link diffusionkit.hub.HubSettings}: {@code HF_HOME}, {@code HF_HUB_CACHE}, {@code HF_HUB_OFFLINE},
 * {@code HF_TOKEN}, {@code HF_ENDPOINT}).
 */
package diffusionkit.hub;
