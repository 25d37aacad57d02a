package diffusionkit.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

class ModelCardTest {

    /** The course's card of its fine-tuned pipeline: YAML front matter the hub reads, then the usage snippet. */
    @Test
    void writesTheCoursesCard(@TempDir Path dir) throws Exception {
        ModelCard card = ModelCard.unconditional("Emoji: Food", "A model.", "emoji-finetuned");
        Path file = card.save(dir);
        assertEquals(dir.resolve("README.md"), file);
        assertEquals("""
                ---
                license: mit
                tags:
                - pytorch
                - diffusers
                - unconditional-image-generation
                - diffusion-models-class
                - diffusion-kit
                ---

                # Emoji: Food

                A model.

                ## Usage

                ```python
                from diffusers import DDPMPipeline
                pipeline = DDPMPipeline.from_pretrained('emoji-finetuned')
                image = pipeline().images[0]
                ```
                """, Files.readString(file));
    }
}
