package diffusionkit.schedulers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** scheduler_config.json files as diffusers v0.31 saves them: loading, resolving, saving, round trips. */
class SchedulerConfigTest {

    private static final String[] CONFIGS = {"ddpm_linear", "ddpm_cos", "ddim50_linear", "ddim50_linear_noclip",
        "ddim40_linear", "ddim50_cos"};

    /** The case of schedulers.json whose resolved config a scheduler_configs/<name> file was saved from. */
    private static JsonObject caseConfig(String name) {
        JsonObject cases = Vectors.cases();
        String key = name.startsWith("ddpm") ? name + "/schedule" : name + "/timesteps";
        return cases.getAsJsonObject(key).getAsJsonObject("config");
    }

    private static Path configFolder(String name) {
        return Vectors.resource("scheduler_configs/" + name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddpm_linear", "ddpm_cos", "ddim50_linear", "ddim50_linear_noclip", "ddim40_linear", "ddim50_cos"})
    void fileResolvesToTheCaseConfig(String name) throws IOException {
        JsonObject expected = caseConfig(name);
        // folder and file both work
        SchedulerConfig fromFolder = SchedulerConfig.load(configFolder(name));
        SchedulerConfig fromFile = SchedulerConfig.load(configFolder(name).resolve(SchedulerConfig.FILE_NAME));
        assertEquals(fromFolder, fromFile);
        assertEquals(Vectors.withoutPrivateKeys(expected), Vectors.withoutPrivateKeys(fromFolder.toJsonObject()));
        assertEquals(expected.get("_class_name").getAsString(), fromFolder.className());

        Scheduler s = Scheduler.load(configFolder(name));
        assertEquals(expected.get("_class_name").getAsString(), s.getClass().getSimpleName());
        assertEquals(Vectors.withoutPrivateKeys(expected), Vectors.withoutPrivateKeys(s.config().toJsonObject()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddpm_linear", "ddpm_cos", "ddim50_linear", "ddim50_linear_noclip", "ddim40_linear", "ddim50_cos"})
    void saveWritesWhatDiffusersWrote(String name, @TempDir Path tmp) throws IOException {
        // diffusers' save_config: json.dumps(config, indent=2, sort_keys=True) + "\n"; ours is byte-identical
        String original = Files.readString(configFolder(name).resolve(SchedulerConfig.FILE_NAME));
        SchedulerConfig c = SchedulerConfig.load(configFolder(name));
        c.save(tmp.resolve("out"));
        assertEquals(original, Files.readString(tmp.resolve("out").resolve(SchedulerConfig.FILE_NAME)));
        assertEquals(c, SchedulerConfig.load(tmp.resolve("out")));
    }

    @Test
    void defaultsAreDiffusersDefaults() {
        // DDPMScheduler() / DDIMScheduler() in diffusers v0.31 save exactly these files
        assertEquals(read("ddpm_linear"), SchedulerConfig.of(SchedulerConfig.DDPM).toJsonString());
        assertEquals(read("ddim50_linear"), SchedulerConfig.of(SchedulerConfig.DDIM).toJsonString());
        assertEquals(read("ddpm_cos"), SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.BETA_SCHEDULE, "squaredcos_cap_v2").toJsonString());
        assertEquals(read("ddim50_linear_noclip"), new DDIMScheduler(SchedulerConfig.of(SchedulerConfig.DDPM)
                .with(SchedulerConfig.CLIP_SAMPLE, false)).config().toJsonString());
        SchedulerConfig d = new DDPMScheduler().config();
        assertEquals(1000, d.numTrainTimesteps());
        assertEquals(0.0001, d.betaStart());
        assertEquals(0.02, d.betaEnd());
        assertEquals("linear", d.betaSchedule());
        assertNull(d.trainedBetas());
        assertEquals("fixed_small", d.varianceType());
        assertTrue(d.clipSample());
        assertEquals(1.0, d.clipSampleRange());
        assertEquals("epsilon", d.predictionType());
        assertFalse(d.get(SchedulerConfig.THRESHOLDING));
        assertEquals(0.995, d.get(SchedulerConfig.DYNAMIC_THRESHOLDING_RATIO));
        assertEquals(1.0, d.get(SchedulerConfig.SAMPLE_MAX_VALUE));
        assertEquals("leading", d.timestepSpacing());
        assertEquals(0, d.stepsOffset());
        assertFalse(d.rescaleBetasZeroSnr());
        assertTrue(new DDIMScheduler().config().setAlphaToOne());
    }

    private static String read(String name) {
        try {
            return Files.readString(configFolder(name).resolve(SchedulerConfig.FILE_NAME));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void ddimFromDdpmConfigIsDiffusersFromConfig() throws IOException {
        // DDIMScheduler.from_config(DDPMScheduler().config) saves as ddim50_linear: variance_type dropped,
        // set_alpha_to_one added with its default
        DDIMScheduler ddim = DDIMScheduler.fromConfig(SchedulerConfig.load(configFolder("ddpm_linear")));
        assertEquals(read("ddim50_linear"), ddim.config().toJsonString());
        assertFalse(ddim.config().toJsonObject().has(SchedulerConfig.VARIANCE_TYPE.key()));
        // and back: DDPM from a DDIM config drops set_alpha_to_one and adds variance_type
        DDPMScheduler ddpm = DDPMScheduler.fromConfig(ddim.config());
        assertEquals(read("ddpm_linear"), ddpm.config().toJsonString());
        // DDIMScheduler.load of a DDPM folder converts too (as diffusers' DDIMScheduler.from_pretrained)
        assertEquals(read("ddim50_cos"), DDIMScheduler.load(configFolder("ddpm_cos")).config().toJsonString());
    }

    @Test
    void unknownKeysSurviveSaveAndLoad(@TempDir Path tmp) throws IOException {
        JsonObject o = JsonParser.parseString(read("ddpm_cos")).getAsJsonObject();
        JsonObject nested = new JsonObject();
        JsonArray arr = new JsonArray();
        arr.add(1);
        arr.add(2.5);
        nested.add("values", arr);
        o.add("my_future_key", nested);
        o.addProperty("another_unknown", "hello");
        o.addProperty("_name_or_path", "google/ddpm-cat-256");
        o.add("variance_type", new JsonPrimitive("fixed_large"));
        Files.writeString(tmp.resolve(SchedulerConfig.FILE_NAME), o.toString());

        DDPMScheduler s = DDPMScheduler.load(tmp);
        assertEquals("fixed_large", s.config().varianceType());
        s.save(tmp.resolve("saved"));
        SchedulerConfig back = SchedulerConfig.load(tmp.resolve("saved"));
        assertEquals(s.config(), back);
        assertEquals(nested, back.get("my_future_key"));
        assertEquals("hello", back.get("another_unknown").getAsString());
        assertEquals("google/ddpm-cat-256", back.get("_name_or_path").getAsString());
        assertEquals(SchedulerConfig.DIFFUSERS_VERSION, back.get("_diffusers_version").getAsString());

        // unknown keys also survive the conversion to DDIM (diffusers would drop them; we keep them)
        SchedulerConfig ddim = new DDIMScheduler(back).config();
        assertEquals(nested, ddim.get("my_future_key"));
        assertFalse(ddim.toJsonObject().has("variance_type"));

        // and with(...) keeps them
        SchedulerConfig rebuilt = back.with(SchedulerConfig.STEPS_OFFSET, 1);
        assertEquals(1, rebuilt.stepsOffset());
        assertEquals(nested, rebuilt.get("my_future_key"));
    }

    @Test
    void numbersAreWrittenAsPythonWould(@TempDir Path tmp) throws IOException {
        SchedulerConfig c = SchedulerConfig.of(SchedulerConfig.DDPM).with(SchedulerConfig.BETA_START, 0.00085)
                .with(SchedulerConfig.BETA_END, 0.012)
                .with(SchedulerConfig.BETA_SCHEDULE, "scaled_linear").with(SchedulerConfig.CLIP_SAMPLE_RANGE, 2.0)
                .with(SchedulerConfig.TRAINED_BETAS, null);
        String text = c.toJsonString();
        assertTrue(text.contains("\"beta_start\": 0.00085,"), text);
        assertTrue(text.contains("\"beta_end\": 0.012,"), text);
        assertTrue(text.contains("\"clip_sample_range\": 2.0,"), text);
        assertTrue(text.contains("\"trained_betas\": null,"), text);
        c.save(tmp);
        assertEquals(c, SchedulerConfig.load(tmp));
    }

    @Test
    void trainedBetasRoundTrip(@TempDir Path tmp) throws IOException {
        float[] betas = BetaSchedules.linear(1e-4, 0.02, 10);
        SchedulerConfig c = SchedulerConfig.of(SchedulerConfig.DDPM).with(SchedulerConfig.NUM_TRAIN_TIMESTEPS, 10)
                .with(SchedulerConfig.TRAINED_BETAS, betas);
        c.save(tmp);
        DDPMScheduler s = DDPMScheduler.load(tmp);
        assertEquals(0f, Vectors.maxAbsDiff(betas, s.betas()));
        assertEquals(0f, Vectors.maxAbsDiff(betas, s.config().trainedBetas()));
    }

    @Test
    void otherSchedulerClassesAreKeptAndConverted(@TempDir Path tmp) throws IOException {
        // a PNDM config (as in old hub pipelines): loading keeps it; DDIM converts it
        String pndm = "{\"_class_name\": \"PNDMScheduler\", \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\","
                + " \"beta_start\": 0.00085, \"num_train_timesteps\": 1000, \"skip_prk_steps\": true, \"steps_offset\": 1}";
        Files.writeString(tmp.resolve(SchedulerConfig.FILE_NAME), pndm);
        SchedulerConfig c = SchedulerConfig.load(tmp);
        assertEquals("PNDMScheduler", c.className());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Scheduler.fromConfig(c));
        assertTrue(e.getMessage().contains("PNDMScheduler") && e.getMessage().contains("DDIMScheduler"), e.getMessage());
        DDIMScheduler ddim = new DDIMScheduler(c);
        assertEquals(SchedulerConfig.DDIM, ddim.config().className());
        assertEquals(1, ddim.config().stepsOffset());
        assertTrue(ddim.config().get("skip_prk_steps").getAsBoolean());
        assertTrue(ddim.config().setAlphaToOne());
        assertInstanceOf(DDIMScheduler.class, Scheduler.fromConfig(ddim.config()));
    }
}
