package diffusionkit.io;

import static diffusionkit.io.JsonConfigTest.assertContains;
import static diffusionkit.io.JsonConfigTest.vectors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.clip.ClipModel;
import diffusionkit.models.ClassConditionedUNet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The one model-folder save / load: what it keeps, what it replaces, what it closes and what its errors name. */
class ModelFolderTest {

    private static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    @Test
    void saveReplacesTheModelsFilesAndKeepsTheOthers(@TempDir Path tmp) throws IOException {
        Path folder = tmp.resolve("model");
        Files.createDirectories(folder.resolve("scheduler"));
        Files.writeString(folder.resolve("README.md"), "a model card");
        Files.writeString(folder.resolve("scheduler/scheduler_config.json"), "{}");
        Files.writeString(folder.resolve(ClassConditionedUNet.CLASS_EMB_NAME), "the table of an earlier CONCAT model");
        try (NDManager m = manager.newSubManager();
                ClassConditionedUNet model = ClassConditionedUNet.builder()
                        .optMode(ClassConditionedUNet.Mode.CLASS_EMBEDDING).build(m)) {
            model.savePretrained(folder);
            assertEquals("a model card", Files.readString(folder.resolve("README.md")));
            assertEquals("{}", Files.readString(folder.resolve("scheduler/scheduler_config.json")));
            assertFalse(Files.exists(folder.resolve(ClassConditionedUNet.CLASS_EMB_NAME))); // not this model's
            assertEquals(model.config().toJsonString(), Files.readString(folder.resolve(ClassConditionedUNet.CONFIG_NAME)));
            assertTrue(Files.isRegularFile(folder.resolve("unet/diffusion_pytorch_model.safetensors")));
            try (var list = Files.list(tmp)) {
                assertEquals(1, list.count(), "no temporary folder is left behind");
            }
            try (ClassConditionedUNet back = ClassConditionedUNet.fromPretrained(folder, m)) {
                for (Map.Entry<String, NDArray> e : model.stateDict().entrySet()) {
                    assertArrayEquals(e.getValue().toFloatArray(), back.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
                }
            }
            // the wrapper's config and the UNet's that do not fit together: both files are named
            Path cc = folder.resolve(ClassConditionedUNet.CONFIG_NAME);
            Files.writeString(cc, Files.readString(cc).replace("class_embedding", "concat"));
            CheckpointException e = assertThrows(CheckpointException.class, () -> ClassConditionedUNet.fromPretrained(folder, m));
            assertContains(e, cc + ": it does not fit " + folder.resolve("unet/config.json"), "in_channels");
        }
    }

    @Test
    void clipSavesWhatTransformersWrote(@TempDir Path tmp) throws IOException {
        Path original = vectors("clip/clip_tiny");
        try (NDManager m = manager.newSubManager(); ClipModel clip = ClipModel.fromPretrained(original, m)) {
            clip.savePretrained(tmp);
            assertEquals(Files.readString(original.resolve("config.json")), Files.readString(tmp.resolve("config.json")));
            assertEquals("pt", Safetensors.metadata(tmp.resolve(ClipModel.SAFETENSORS_FILE)).get("format"));
            try (ClipModel back = ClipModel.fromPretrained(tmp, m)) {
                assertEquals(clip.getParameters().keySet(), back.getParameters().keySet());
                for (Map.Entry<String, NDArray> e : clip.getParameters().entrySet()) {
                    assertArrayEquals(e.getValue().toFloatArray(), back.getParameter(e.getKey()).toFloatArray(), e.getKey());
                }
            }
        }
    }

    /** A model that records whether it was closed. */
    private static final class Probe implements AutoCloseable {
        boolean closed;

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void loadClosesTheModelOnFailureAndNamesTheFiles() {
        Path config = Path.of("folder/config.json");
        Probe probe = new Probe();
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelFolder.load(config, () -> probe,
                scratch -> new ModelFolder.Weights("folder/model.safetensors", Map.of()), (model, sd) -> {
                    throw new IllegalArgumentException("missing keys (1): conv_out.bias");
                }));
        assertEquals("folder/model.safetensors does not match folder/config.json: missing keys (1): conv_out.bias",
                e.getMessage());
        assertTrue(probe.closed);

        Probe second = new Probe();
        e = assertThrows(CheckpointException.class, () -> ModelFolder.load(config, () -> second,
                scratch -> {
                    throw new CheckpointException("folder holds no model weights");
                }, (model, sd) -> { }));
        assertEquals("folder holds no model weights", e.getMessage());
        assertTrue(second.closed);

        e = assertThrows(CheckpointException.class, () -> ModelFolder.load(config, () -> {
            throw new IllegalArgumentException("'act_fn' = \"mish\" is not supported");
        }, scratch -> null, (model, sd) -> { }));
        assertEquals("folder/config.json: 'act_fn' = \"mish\" is not supported", e.getMessage());
    }

    @Test
    void aMissingNamedWeightsFileIsNamed(@TempDir Path tmp) {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ModelFolder.readWeights(tmp, "model.safetensors", manager));
        assertContains(e, tmp + " lacks model.safetensors", "save the model again");
    }
}
