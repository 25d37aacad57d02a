package diffusionkit.pipelines;

import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hub's model card of a saved pipeline ({@code README.md}: YAML front matter with the licence and tags, a title,
 * a description, and how to load it with diffusers), as the course writes for its fine-tuned model.
 */
public final class ModelCard {

    /** The file name the hub reads. */
    public static final String FILE_NAME = "README.md";
    /** The course's tags of an unconditional diffusers pipeline, and the kit's. */
    public static final List<String> UNCONDITIONAL_TAGS = List.of("pytorch", "diffusers",
            "unconditional-image-generation", "diffusion-models-class", "diffusion-kit");

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

    /** The card's Markdown. */
    @Override
    public String toString() {
        List<String> lines = new ArrayList<>(List.of("---", "license: mit", "tags:"));
        tags.forEach(t -> lines.add("- " + t));
        lines.addAll(List.of("---", "", "# " + title, "", description, "", "## Usage", "", "```python",
                "from diffusers import DDPMPipeline", "pipeline = DDPMPipeline.from_pretrained('" + repoId + "')",
                "image = pipeline().images[0]", "```", ""));
        return String.join("\n", lines);
    }

    /** Writes {@value #FILE_NAME} into {@code folder}, atomically; returns its path. */
    public Path save(Path folder) throws IOException {
        Path file = folder.resolve(FILE_NAME);
        AtomicFiles.writeString(file, toString());
        return file;
    }
}
