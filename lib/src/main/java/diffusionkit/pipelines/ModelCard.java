package diffusionkit.pipelines;

import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hub's model card of a saved pipeline ({@code README.md}: YAML front matter with the licence and tags, a title,
 * a description, and how to load it with diffusers), as the course writes for its fine-tuned model.
 *
 * <p>The Python section ({@link #PYTHON_HEADING}, {@link #pipelinePythonUsage(String)}) is the one the kit's shipped
 * pipeline cards ({@code datasets/models/emoji-base/MODEL_CARD.md}, {@code emoji-animals}) carry word for word, and
 * {@code environment/reference/check_model_cards.py} runs it on those folders with diffusers.
 */
public final class ModelCard {

    /** The file name the hub reads. */
    public static final String FILE_NAME = "README.md";
    /** The course's tags of an unconditional diffusers pipeline, and the kit's. */
    public static final List<String> UNCONDITIONAL_TAGS = List.of("pytorch", "diffusers",
            "unconditional-image-generation", "diffusion-models-class", "diffusion-kit");

    /** The heading of the section of every model card of the kit that says how to load the folder in Python. */
    public static final String PYTHON_HEADING = "## Use it from Python (diffusers / transformers)";

    private final String title;
    private final String description;
    private final String repoId;
    private final List<String> tags;

    private ModelCard(String title, String description, String repoId, List<String> tags) {
        this.title = title;
        this.description = description;
        this.repoId = repoId;
        this.tags = List.copyOf(tags);
    }

    /**
     * The card of an unconditional pipeline ({@code DDPMPipeline}).
     *
     * @param title the heading
     * @param description a paragraph: what the model is and how it was made
     * @param repoId what {@code from_pretrained} is given in the usage snippet (a hub id or a folder name)
     */
    public static ModelCard unconditional(String title, String description, String repoId) {
        return new ModelCard(title, description, repoId, UNCONDITIONAL_TAGS);
    }

    /**
     * How to load a {@code DDPMPipeline} folder (or hub id) with diffusers, in Markdown: what to install, then a
     * Python snippet that loads it and draws an image (diffusers' {@code DDPMPipeline.from_pretrained}, as the
     * course's card).
     *
     * @param repoId what {@code from_pretrained} is given: a hub id or a folder ({@code datasets/models/emoji-base})
     */
    public static String pipelinePythonUsage(String repoId) {
        return String.join("\n", List.of(
                "Needs `pip install torch diffusers transformers`, as the course installs them (diffusers 0.31 without "
                        + "transformers stops",
                "on the `.safetensors` weights with \"module 'safetensors' has no attribute 'torch'\", diffusers issue "
                        + "#5989).",
                "",
                "```python",
                "from diffusers import DDPMPipeline",
                "",
                "pipeline = DDPMPipeline.from_pretrained(\"" + repoId + "\")  # model_index.json, unet/, scheduler/",
                "image = pipeline().images[0]  # a PIL image: DDPM, the scheduler's 1000 steps",
                "image.save(\"sample.png\")",
                "```", ""));
    }

    /** The card's Markdown. */
    @Override
    public String toString() {
        List<String> lines = new ArrayList<>(List.of("---", "license: mit", "tags:"));
        tags.forEach(t -> lines.add("- " + t));
        lines.addAll(List.of("---", "", "# " + title, "", description, "", PYTHON_HEADING, "",
                pipelinePythonUsage(repoId)));
        return String.join("\n", lines);
    }

    /** Writes {@value #FILE_NAME} into {@code folder}, atomically; returns its path. */
    public Path save(Path folder) throws IOException {
        Path file = folder.resolve(FILE_NAME);
        AtomicFiles.writeString(file, toString());
        return file;
    }
}
