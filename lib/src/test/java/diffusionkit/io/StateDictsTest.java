package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link StateDicts}: which file of a folder is read, variants, shards, and the error for an empty folder. */
class StateDictsTest {

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static Path unetA() {
        return TestVectors.path("unet_a/diffusion_pytorch_model.safetensors");
    }

    private static Path unetABin() {
        return TestVectors.path("bin_twins/unet_a/diffusion_pytorch_model.bin");
    }

    /** A .bin-only folder (as bin_twins/unet_a) loads its .bin; the result equals the safetensors folder's. */
    @Test
    void loadsBinOnlyFolderLikeSafetensorsFolder() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            assertEquals("diffusion_pytorch_model.bin",
                    StateDicts.resolve(TestVectors.path("bin_twins/unet_a"), null).getFileName().toString());
            Map<String, NDArray> fromBin = StateDicts.load(TestVectors.path("bin_twins/unet_a"), m);
            Map<String, NDArray> fromSafetensors = StateDicts.load(TestVectors.path("unet_a"), m);
            TestVectors.assertSameTensors(fromSafetensors, fromBin);
        }
    }

    /** The order diffusers then transformers use: safetensors before .bin, diffusers names before transformers names. */
    @Test
    void picksFilesInDiffusersOrder(@TempDir Path dir) throws IOException {
        Files.copy(unetABin(), dir.resolve("pytorch_model.bin"));
        assertEquals("pytorch_model.bin", StateDicts.resolve(dir, null).getFileName().toString());
        Files.copy(unetA(), dir.resolve("model.safetensors"));
        assertEquals("model.safetensors", StateDicts.resolve(dir, null).getFileName().toString());
        Files.copy(unetABin(), dir.resolve("diffusion_pytorch_model.bin"));
        assertEquals("diffusion_pytorch_model.bin", StateDicts.resolve(dir, null).getFileName().toString());
        Files.copy(unetA(), dir.resolve("diffusion_pytorch_model.safetensors"));
        assertEquals("diffusion_pytorch_model.safetensors", StateDicts.resolve(dir, null).getFileName().toString());
        try (NDManager m = manager.newSubManager()) {
            assertEquals(TestVectors.stateDictKeys("unet_a").size(), StateDicts.load(dir, m).size());
        }
    }

    /** Variant files are read only when asked for; a folder holding only them says which variant to ask for. */
    @Test
    void variantsOnlyWhenAsked(@TempDir Path dir) throws IOException {
        Files.copy(TestVectors.path("bin_twins/unet_a_fp16/diffusion_pytorch_model.safetensors"),
                dir.resolve("diffusion_pytorch_model.fp16.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> StateDicts.load(dir, manager));
        PytorchBinTest.assertContains(e, dir.toString(), "variant [fp16]", "variant \"fp16\"");
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> fp16 = StateDicts.load(dir, m, "fp16");
            TestVectors.assertSameTensors(
                    Safetensors.read(TestVectors.path("bin_twins/unet_a_fp16/diffusion_pytorch_model.safetensors"), m), fp16);
        }
        Files.copy(unetA(), dir.resolve("diffusion_pytorch_model.safetensors"));
        assertEquals("diffusion_pytorch_model.safetensors", StateDicts.resolve(dir, null).getFileName().toString());
        assertEquals("diffusion_pytorch_model.fp16.safetensors", StateDicts.resolve(dir, "fp16").getFileName().toString());
        assertEquals(List.of("diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.safetensors.index.fp16.json",
                "diffusion_pytorch_model.fp16.bin", "diffusion_pytorch_model.bin.index.fp16.json", "model.fp16.safetensors",
                "model.safetensors.index.fp16.json", "pytorch_model.fp16.bin", "pytorch_model.bin.index.fp16.json"),
                StateDicts.candidateNames("fp16"));
    }

    /** A folder without weights: the error names the folder, every file looked for, and the fix. */
    @Test
    void folderWithoutWeightsSaysWhatItLookedFor(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> StateDicts.load(dir, manager));
        PytorchBinTest.assertContains(e, dir.toString(), "holds no model weights", "config.json", "save_pretrained");
        PytorchBinTest.assertContains(e, StateDicts.candidateNames(null).toArray(new String[0]));

        Files.createDirectory(dir.resolve("unet"));
        PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> StateDicts.load(dir, manager)),
                "pass its unet/ subfolder");
        Path missing = dir.resolve("nothing.safetensors");
        PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> StateDicts.load(missing, manager)),
                missing.toString(), "no such weights file");
    }

    /** A sharded checkpoint (index + two shards, one safetensors and one .bin) loads to the full state dict. */
    @Test
    void loadsShardedCheckpoints(@TempDir Path dir) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> all = Safetensors.read(unetA(), m);
            Map<String, NDArray> first = new LinkedHashMap<>();
            JsonObject weightMap = new JsonObject();
            int i = 0;
            for (Map.Entry<String, NDArray> e : all.entrySet()) {
                if (i++ < all.size() / 2) {
                    first.put(e.getKey(), e.getValue());
                    weightMap.addProperty(e.getKey(), "diffusion_pytorch_model-00001-of-00002.safetensors");
                } else {
                    weightMap.addProperty(e.getKey(), "diffusion_pytorch_model-00002-of-00002.safetensors");
                }
            }
            Map<String, NDArray> second = new LinkedHashMap<>(all);
            second.keySet().removeAll(first.keySet());
            Safetensors.write(dir.resolve("diffusion_pytorch_model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
            Safetensors.write(dir.resolve("diffusion_pytorch_model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
            JsonObject index = new JsonObject();
            index.add("metadata", new JsonObject());
            index.add("weight_map", weightMap);
            Files.writeString(dir.resolve("diffusion_pytorch_model.safetensors.index.json"), index.toString());

            Map<String, NDArray> loaded = StateDicts.load(dir, m);
            TestVectors.assertSameTensors(all, loaded);
            assertEquals(new ArrayList<>(all.keySet()), new ArrayList<>(loaded.keySet()));

            Files.delete(dir.resolve("diffusion_pytorch_model-00002-of-00002.safetensors"));
            PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> StateDicts.load(dir, manager)),
                    "lists shard diffusion_pytorch_model-00002-of-00002.safetensors, which is missing");
        }
    }

    /** A single file is read by its format, whatever the folder rules. */
    @Test
    void loadsSingleFilesByFormat() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            TestVectors.assertSameTensors(StateDicts.load(unetA(), m), StateDicts.load(unetABin(), m));
        }
    }
}
