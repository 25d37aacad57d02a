package diffusionkit.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

class ModelCardTest {

    /**
     * The course's card of its fine-tuned pipeline: YAML front matter the hub reads, then the diffusers snippet (run on
     * the shipped pipelines by environment/reference/check_model_cards.py).
     */
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

                ## Use it from Python (diffusers / transformers)

                Needs `pip install torch diffusers transformers`, as the course installs them (diffusers 0.31 without transformers stops
                on the `.safetensors` weights with "module 'safetensors' has no attribute 'torch'", diffusers issue #5989).

                ```python
                from diffusers import DDPMPipeline

                pipeline = DDPMPipeline.from_pretrained("emoji-finetuned")  # model_index.json, unet/, scheduler/
                image = pipeline().images[0]  # a PIL image: DDPM, the scheduler's 1000 steps
                image.save("sample.png")
                ```
                """, Files.readString(file));
    }
}
