package diffusionkit.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.clip.ClipConfig;
import diffusionkit.models.ClassConditionedUNet;
import diffusionkit.models.UNet2DConfig;
import diffusionkit.schedulers.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The config base against files diffusers and transformers wrote ({@code vectors/}): what they write is written back
 * byte for byte, keys the kit does not declare and JSON nulls survive, each declared default is the value diffusers
 * writes for an absent key, and a value of the wrong type is refused naming its key.
 */
class JsonConfigTest {

    static Path vectors(String name) {
        try {
            return Path.of(JsonConfigTest.class.getResource("/vectors/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    @Test
    void filesDiffusersAndTransformersWroteAreWrittenBackByteForByte(@TempDir Path tmp) throws IOException {
        // diffusers' save_config and transformers' to_json_file: json.dumps(indent=2, sort_keys=True) + "\n"
        for (String name : List.of("unet_a", "unet_b")) {
            Path file = vectors(name + "/config.json");
            UNet2DConfig.load(file).save(tmp.resolve(name));
            assertEquals(Files.readString(file), Files.readString(tmp.resolve(name).resolve("config.json")), name);
        }
        // the CLIP config.json holds ~100 keys transformers writes and the kit does not use, and nulls
        Path clip = vectors("clip/clip_tiny/config.json");
        ClipConfig c = ClipConfig.load(clip);
        assertTrue(c.storedKeys().size() > 50);
        c.save(tmp.resolve("clip"));
        assertEquals(Files.readString(clip), Files.readString(tmp.resolve("clip/config.json")));
    }

    @Test
    void unknownKeysAndNullsRoundTrip(@TempDir Path tmp) throws IOException {
        JsonObject o = json(vectors("unet_b/config.json"));
        JsonObject nested = new JsonObject();
        JsonArray list = new JsonArray();
        list.add(1);
        list.add(2.5);
        list.add(JsonNull.INSTANCE);
        nested.add("values", list);
        nested.add("nothing", JsonNull.INSTANCE);
        o.add("my_future_key", nested);
        o.add("a_null_the_kit_does_not_know", JsonNull.INSTANCE);
        o.addProperty("_name_or_path", "google/ddpm-cifar10-32");
        Files.createDirectories(tmp.resolve("in"));
        Files.writeString(tmp.resolve("in/config.json"), o.toString());

        UNet2DConfig c = UNet2DConfig.load(tmp.resolve("in"));
        assertNull(c.attnNormNumGroups()); // a declared key whose JSON null is its value
        c.save(tmp.resolve("out"));
        JsonObject back = json(tmp.resolve("out/config.json"));
        assertEquals(o, back); // every key, unknown ones and nulls included, with the same values
        assertTrue(back.get("a_null_the_kit_does_not_know").isJsonNull());
        assertTrue(back.get("attn_norm_num_groups").isJsonNull());
        assertEquals(c, UNet2DConfig.load(tmp.resolve("out")));

        // a declared key set to null and back
        UNet2DConfig oneHead = c.with(UNet2DConfig.ATTENTION_HEAD_DIM, null);
        assertNull(oneHead.attentionHeadDim());
        assertTrue(oneHead.toJsonObject().get("attention_head_dim").isJsonNull());
        assertEquals(8, oneHead.with(UNet2DConfig.ATTENTION_HEAD_DIM, 8).attentionHeadDim());
        assertEquals(nested, oneHead.get("my_future_key"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddpm_linear", "ddim50_linear"})
    void eachDeclaredDefaultIsWhatDiffusersWritesForAnAbsentKey(String name) throws IOException {
        // DDPMScheduler() and DDIMScheduler() saved by diffusers v0.31: every key at its default. Removing any one
        // key, the kit reads the declared default and writes back diffusers' file unchanged.
        String original = Files.readString(vectors("scheduler_configs/" + name + "/scheduler_config.json"));
        JsonObject o = JsonParser.parseString(original).getAsJsonObject();
        SchedulerConfig full = SchedulerConfig.fromJson(o, name);
        assertEquals(o.keySet().size() - 2, full.fields().size()); // all but _class_name, _diffusers_version
        for (JsonConfig.Field<?> f : full.fields()) {
            JsonObject without = o.deepCopy();
            assertTrue(without.remove(f.key()) != null, f.key());
            SchedulerConfig c = SchedulerConfig.fromJson(without, name + " without " + f.key());
            assertFalse(c.storedKeys().contains(f.key()));
            assertEquals(original, c.toJsonString(), f.key());
            assertEquals(f.defaultValue(), c.get(f), f.key());
            assertEquals(full.get(f), c.get(f), f.key());
        }
    }

    @Test
    void unetDefaultsAreWrittenForEveryAbsentKey() throws IOException {
        // a config.json with only the keys the course sets: the rest read and are written as diffusers' defaults
        JsonObject ref = json(vectors("unet_b/config.json"));
        UNet2DConfig course = ClassConditionedUNet.courseUNetConfig(4);
        assertEquals(List.of("sample_size", "in_channels", "out_channels", "layers_per_block", "block_out_channels",
                "down_block_types", "up_block_types"), course.storedKeys());
        assertEquals(ref, course.toJsonObject());
        assertEquals(1e-5, course.normEps());
        assertEquals(1.0, course.midBlockScaleFactor());
        assertEquals(0.0, course.freqShift());
        assertTrue(course.toJsonString().contains("\"norm_eps\": 1e-05,"), course.toJsonString());
        assertTrue(course.toJsonString().contains("\"mid_block_scale_factor\": 1,"), course.toJsonString());
        // a default is read afresh: changing a returned array changes nothing
        UNet2DConfig d = UNet2DConfig.defaults();
        d.blockOutChannels()[0] = 1;
        assertArrayEquals(new int[] {224, 448, 672, 896}, d.blockOutChannels());
    }

    @Test
    void aWrongTypeNamesTheKeyTheTypeAndTheFix(@TempDir Path tmp) throws IOException {
        JsonObject o = json(vectors("unet_a/config.json"));
        o.addProperty("in_channels", "three");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UNet2DConfig.fromJson(o.toString()));
        assertContains(e, "\"in_channels\" must be an integer, found \"three\"", "remove the key for its default 3");

        o.add("in_channels", JsonNull.INSTANCE); // null where diffusers' default is not null
        e = assertThrows(IllegalArgumentException.class, () -> UNet2DConfig.fromJson(o.toString()));
        assertContains(e, "\"in_channels\" must be an integer, found null");

        o.addProperty("in_channels", 3.5);
        e = assertThrows(IllegalArgumentException.class, () -> UNet2DConfig.fromJson(o.toString()));
        assertContains(e, "\"in_channels\" must be an integer, found 3.5");

        JsonObject lists = json(vectors("unet_a/config.json"));
        lists.add("block_out_channels", JsonParser.parseString("[32, \"64\"]"));
        e = assertThrows(IllegalArgumentException.class, () -> UNet2DConfig.fromJson(lists.toString()));
        assertContains(e, "\"block_out_channels\" must be a list of integers, found [32,\"64\"]");

        // in a file: a CheckpointException naming the file
        Files.writeString(tmp.resolve("config.json"), lists.toString());
        CheckpointException ce = assertThrows(CheckpointException.class, () -> UNet2DConfig.load(tmp));
        assertContains(ce, tmp.resolve("config.json") + ": \"block_out_channels\"");

        // with(...) checks as well
        UNet2DConfig a = UNet2DConfig.load(vectors("unet_a"));
        assertContains(assertThrows(IllegalArgumentException.class, () -> a.with("add_attention", "yes")),
                "\"add_attention\" must be true or false, found \"yes\"");
        assertContains(assertThrows(IllegalArgumentException.class, () -> a.with("sample_size", List.of(1, 2, 3))),
                "\"sample_size\" must be an integer or [height, width] or null, found [1,2,3]");

        // a nested config (CLIP's text_config) names its path
        JsonObject clip = json(vectors("clip/clip_tiny/config.json"));
        clip.getAsJsonObject("text_config").addProperty("hidden_size", "wide");
        e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.fromJson(clip, "clip.json"));
        assertContains(e, "clip.json text_config: \"hidden_size\" must be an integer, found \"wide\"");

        // the scheduler's keys, and class_conditioned.json's
        assertContains(assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.of(SchedulerConfig.DDIM)
                .with("set_alpha_to_one", JsonParser.parseString("\"no\""))), "\"set_alpha_to_one\"", "true or false");
        assertContains(assertThrows(IllegalArgumentException.class, () -> ClassConditionedUNet.Config.fromJson(
                JsonParser.parseString("{\"num_classes\": \"ten\"}").getAsJsonObject(), "cc.json")),
                "cc.json: \"num_classes\" must be an integer, found \"ten\"");
    }

    @Test
    void classConditionedJsonIsWrittenByTheBase() {
        ClassConditionedUNet.Config c = ClassConditionedUNet.Config.defaults()
                .with(ClassConditionedUNet.Config.NULL_CLASS, true);
        assertEquals("{\n  \"_class_name\": \"ClassConditionedUNet\",\n  \"_diffusers_version\": \"0.31.0\",\n"
                + "  \"class_emb_size\": 4,\n  \"mode\": \"concat\",\n  \"null_class\": true,\n  \"num_classes\": 10\n}\n",
                c.toJsonString());
        assertEquals(ClassConditionedUNet.Mode.CONCAT, c.mode());
        assertContains(assertThrows(IllegalArgumentException.class, () -> c
                .with(ClassConditionedUNet.Config.MODE, "film")),
                "\"mode\"", "film", "concat or class_embedding");
        assertContains(assertThrows(IllegalArgumentException.class, () -> c
                .with(ClassConditionedUNet.Config.NUM_CLASSES, 0)),
                "\"num_classes\" must be >= 1");
    }

    @Test
    void pythonFloatSpelling() {
        // Python's repr of these floats
        Map<Double, String> repr = Map.of(0.0001, "0.0001", 1.0, "1.0", 1e-5, "1e-05", 0.00085, "0.00085",
                2.6592, "2.6592", 1e16, "1e+16", -0.5, "-0.5", 0.0, "0.0");
        repr.forEach((d, text) -> assertEquals(text, JsonConfig.pythonFloat(d).toString(), String.valueOf(d)));
        assertThrows(IllegalArgumentException.class, () -> JsonConfig.pythonFloat(Double.NaN));
    }

    static void assertContains(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
        }
    }
}
