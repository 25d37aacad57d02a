/**
 * Checkpoint input and output: safetensors, PyTorch {@code .bin} state dicts (read in pure Java through an
 * allow-listed unpickler), the diffusers folder layout and state-dict key maps.
 */
package diffusionkit.io;
