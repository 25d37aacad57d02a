/**
 * Checkpoint input and output.
 *
 * <ul>
 *   <li>{@link diffusionkit.io.Safetensors}: read (validated before anything is allocated) and write safetensors;</li>
 *   <li>{@link diffusionkit.io.PytorchBin}: read PyTorch {@code .bin} state dicts ({@code torch.save} zip and the legacy
 *       pre-1.6 format) in pure Java through an allow-listed unpickler that refuses any other global as it reads it;</li>
 *   <li>{@link diffusionkit.io.StateDicts}: load a weights file or pick the weights of a diffusers / transformers folder
 *       (safetensors before {@code .bin}, variants, sharded {@code *.index.json});</li>
 *   <li>{@link diffusionkit.io.JsonConfig}: the one base of the JSON configs ({@code scheduler_config.json},
 *       {@code config.json}, {@code class_conditioned.json}): keys declared once with their diffusers name, type and
 *       default, unknown keys and nulls kept, {@code _class_name} / {@code _diffusers_version} written by the base;</li>
 *   <li>{@link diffusionkit.io.ModelFolder}: the one save / load of a model folder (config file + weights file +
 *       sub-folders), atomic and keeping the folder's other files, with errors that name the config and the weights
 *       file;</li>
 *   <li>{@link diffusionkit.io.CheckpointException}: every failure names the file, the problem and the fix.</li>
 * </ul>
 */
package diffusionkit.io;
