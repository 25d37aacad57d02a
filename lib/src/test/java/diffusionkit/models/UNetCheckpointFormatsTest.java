package diffusionkit.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every checkpoint twin of ../shared/vectors/bin_twins (PyTorch .bin as diffusers and old hub checkpoints write it,
 * float16 and bfloat16 safetensors, float16 .bin) loads through {@link UNet2DModel#fromPretrained} and reproduces
 * the output diffusers gives for it (bin_twins/index.json names the expected io file and tolerance).
 */
class UNetCheckpointFormatsTest {

    @Test
    void everyTwinReproducesDiffusersOutput() throws Exception {
        Path root = UNet2DModelVectorsTest.vectors("bin_twins");
        JsonObject index = JsonParser.parseString(Files.readString(root.resolve("index.json"))).getAsJsonObject();
        int checked = 0;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (Map.Entry<String, JsonElement> e : index.getAsJsonObject("folders").entrySet()) {
                JsonObject f = e.getValue().getAsJsonObject();
                Path folder = root.resolve(e.getKey());
                Path io = root.resolve(f.get("expected_io").getAsString()).normalize(); // paths relative to bin_twins/
                assertEquals(1e-4, f.get("tolerance").getAsDouble(), 0.0, e.getKey());
                try (UNet2DModel unet = UNet2DModel.fromPretrained(folder, m)) {
                    UNet2DModelVectorsTest.checkCases(unet, io);
                }
                checked++;
            }
        }
        assertEquals(6, checked, "bin_twins/index.json lists six folders");
    }
}
