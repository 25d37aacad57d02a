package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import diffusionkit.clip.ClipLoss;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.io.CheckpointException;
import diffusionkit.models.UNet2DModel;
import diffusionkit.schedulers.DDIMScheduler;
import diffusionkit.schedulers.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** CLIP guidance end to end with the tiny CLIP of the test resources. */
class ClipGuidanceTest {

    static final Path CLIP_TINY = Path.of("src/test/resources/vectors/clip/clip_tiny");
    static NDManager manager;
    static UNet2DModel unet;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DModel.fromPretrained(GuidedSamplerTest.UNET_A, manager);
    }

    @AfterAll
    static void close() {
        unet.close();
        manager.close();
    }

    @Test
    void clipGuidanceLowersTheClipLossOfTheSamples() throws Exception {
        DDIMScheduler ddim = new DDIMScheduler(SchedulerConfig.of(SchedulerConfig.DDIM)
                .with(SchedulerConfig.CLIP_SAMPLE, false));
        GaussianImageModel model = new GaussianImageModel(unet, ddim.alphasCumprod());
        try (ClipGuidance clip = ClipGuidance.builder().optFolder(CLIP_TINY).setPrompt("a red rose").optCuts(2)
                .optSeed(3).build(manager)) {
            // the judge: one deterministic cut (no augmentation), so guided and unguided are scored alike
            ClipLoss judge = ClipLoss.builder().setModel(clip.model()).build();
            double[] score = new double[2];
            double[] scales = {0, 100};
            for (int k = 0; k < 2; k++) {
                GuidedSampler s = GuidedSampler.builder().setModel(model).setScheduler(ddim).optImageShape(3, 16, 16)
                        .setLoss(clip).optGuidanceScale(scales[k]).optScheduleFactor(ScheduleFactor.SQRT_ALPHA_BAR)
                        .optClipGradNorm(2.0).build();
                try (GuidedOutput o = s.sample(2, 4, 21)) {
                    score[k] = judge.compute(o.images(), clip.textFeatures()).getFloat();
                }
            }
            System.out.printf("CLIP loss of the samples: unguided %.5f, guided %.5f%n", score[0], score[1]);
            assertTrue(score[1] < score[0] - 0.01, "guided " + score[1] + " vs unguided " + score[0]);
        }
    }

    @Test
    void aMissingClipFolderOrFileIsNamedWithWhereToPutIt(@TempDir Path tmp) throws Exception {
        Path none = tmp.resolve("clip-vit-base-patch32");
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ClipGuidance.builder().setPrompt("x").optFolder(none).build(manager));
        assertTrue(e.getMessage().contains(none.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
        assertTrue(e.getMessage().contains("openai/clip-vit-base-patch32"), e.getMessage());

        Path partial = tmp.resolve("partial");
        Files.createDirectories(partial);
        Files.copy(CLIP_TINY.resolve("config.json"), partial.resolve("config.json"));
        Files.copy(CLIP_TINY.resolve("vocab.json"), partial.resolve("vocab.json"));
        e = assertThrows(CheckpointException.class, () -> ClipGuidance.builder().setPrompt("x").optFolder(partial).build(manager));
        assertTrue(e.getMessage().contains("lacks model.safetensors (or pytorch_model.bin), merges.txt"), e.getMessage());
        assertFalse(e.getMessage().contains("lacks config.json"), e.getMessage());
        assertTrue(e.getMessage().contains("put them directly in " + partial.toAbsolutePath()), e.getMessage());
        assertTrue(e.getMessage().contains("(config.json, model.safetensors or pytorch_model.bin, vocab.json and merges.txt "
                + "or tokenizer.json)"), e.getMessage());
    }

    @Test
    void misShapedWeightsAreNamed(@TempDir Path tmp) throws Exception {
        Path bad = tmp.resolve("clip");
        Files.createDirectories(bad);
        for (String f : new String[] {"model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"}) {
            Files.copy(CLIP_TINY.resolve(f), bad.resolve(f));
        }
        // a config of another size: projection_dim 16 -> 8
        String config = Files.readString(CLIP_TINY.resolve("config.json")).replace("\"projection_dim\": 16", "\"projection_dim\": 8");
        Files.writeString(bad.resolve("config.json"), config);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ClipGuidance.builder().setPrompt("x").optFolder(bad).build(manager));
        assertTrue(e.getMessage().contains("mis-shaped") && e.getMessage().contains("visual_projection.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("expected float32 (8, 32)"), e.getMessage());
    }

    @Test
    void aLoadedModelIsUsedAndNotClosed() throws Exception {
        try (NDManager m = manager.newSubManager()) {
            ClipModel model = ClipModel.fromPretrained(CLIP_TINY, m);
            ClipTokenizer tok = ClipTokenizer.fromPretrained(CLIP_TINY);
            NDArray expected = ClipLoss.textFeatures(model, tok, "a red rose", m);
            try (ClipGuidance g = ClipGuidance.builder().optModel(model, tok).setPrompt("a red rose").build(m)) {
                assertArrayEquals(expected.toFloatArray(), g.textFeatures().toFloatArray(), 1e-6f);
            }
            assertNotNull(model.getImageFeatures(m.zeros(new ai.djl.ndarray.types.Shape(1, 3, 224, 224))));
            assertThrows(IllegalStateException.class, () -> ClipGuidance.builder().build(m));
        }
    }
}
