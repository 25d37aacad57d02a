package diffusionkit.schedulers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every case of {@code vectors/schedulers.json} (diffusers v0.31.0 on PyTorch, float32): betas,
 * alphas, alphas_cumprod, timesteps after set_timesteps, add_noise and every step, within 1e-5
 * absolute (the README's tolerance).
 */
class SchedulerParityTest {

    private static final float TOL = 1e-5f;
    private static final Pattern SET_TIMESTEPS = Pattern.compile("set_timesteps\\((\\d+)\\)");

    private static NDManager manager;
    private static Map<String, NDArray> tensors;
    private static JsonObject cases;

    @BeforeAll
    static void load() {
        manager = NDManager.newBaseManager();
        tensors = Vectors.tensors(manager);
        cases = Vectors.cases();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static List<String> caseNames() {
        return new ArrayList<>(Vectors.cases().keySet());
    }

    @Test
    void all32CasesArePresent() {
        assertEquals(32, cases.size());
    }

    private static NDArray tensor(String name) {
        NDArray t = tensors.get(name);
        assertNotNull(t, "tensor " + name + " missing from schedulers.safetensors");
        return t;
    }

    /** The scheduler a case describes, built the way diffusers built it. */
    private static Scheduler schedulerFor(String name, JsonObject c) {
        String prefix = name.substring(0, name.indexOf('/'));
        Scheduler s;
        if (c.has("from_config_of")) {
            // DDIMScheduler.from_config(DDPMScheduler(...).config [, overrides])
            JsonObject ddpmCase = cases.getAsJsonObject(c.get("from_config_of").getAsString() + "/schedule");
            JsonObject ddpmCfg = ddpmCase.getAsJsonObject("config").deepCopy();
            SchedulerConfig ddpmConfig = SchedulerConfig.fromJson(ddpmCfg, "ddpm case");
            String groupCall = cases.getAsJsonObject(prefix + "/timesteps").get("call").getAsString();
            if (groupCall.contains("clip_sample=False")) {
                ddpmConfig = ddpmConfig.with(SchedulerConfig.CLIP_SAMPLE, false);
            }
            s = DDIMScheduler.fromConfig(ddpmConfig);
            assertEquals(c.get("final_alpha_cumprod").getAsFloat(), ((DDIMScheduler) s).finalAlphaCumprod());
        } else {
            JsonObject cfg = c.getAsJsonObject("config").deepCopy();
            cfg.addProperty("_class_name", c.get("scheduler").getAsString());
            s = Scheduler.fromConfig(SchedulerConfig.fromJson(cfg, name));
        }
        assertEquals(c.get("scheduler").getAsString(), s.getClass().getSimpleName());
        // the config we resolved is the config diffusers resolved
        assertEquals(Vectors.withoutPrivateKeys(c.getAsJsonObject("config")), Vectors.withoutPrivateKeys(s.config().toJsonObject()),
                name + ": resolved config differs from diffusers'");
        assertEquals(c.get("scheduler").getAsString(), s.config().className());

        Integer steps = null;
        if (c.has("set_timesteps") && !c.get("set_timesteps").isJsonNull()) {
            steps = c.get("set_timesteps").getAsInt();
        } else if (c.has("call")) {
            Matcher m = SET_TIMESTEPS.matcher(c.get("call").getAsString());
            if (m.find()) {
                steps = Integer.parseInt(m.group(1));
            }
        }
        if (steps != null) {
            s.setTimesteps(steps);
        }
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caseNames")
    void matchesDiffusers(String name) {
        JsonObject c = cases.getAsJsonObject(name);
        try (NDManager m = manager.newSubManager()) {
            Scheduler s = schedulerFor(name, c);
            String kind = name.substring(name.indexOf('/') + 1);
            if (kind.equals("schedule")) {
                checkSchedule(name, c, s);
            } else if (kind.equals("timesteps")) {
                long[] expected = tensor(name).toLongArray();
                assertArrayEquals(expected, s.timesteps(), name);
                System.out.printf("%-36s timesteps: %d values equal%n", name, expected.length);
            } else if (kind.equals("add_noise")) {
                NDArray out = s.addNoise(tensor(name + "/original_samples"), tensor(name + "/noise"), tensor(name + "/timesteps"));
                out.attach(m);
                float d = Vectors.maxAbsDiff(out, tensor(name + "/out"));
                System.out.printf("%-36s add_noise max|diff| %.3g%n", name, d);
                assertTrue(d <= TOL, name + ": add_noise differs by " + d);
            } else if (kind.startsWith("step_")) {
                checkStep(name, c, s, m);
            } else {
                throw new AssertionError("unknown case kind " + kind);
            }
        }
    }

    private static void checkSchedule(String name, JsonObject c, Scheduler s) {
        String prefix = name.substring(0, name.indexOf('/'));
        float dB = Vectors.maxAbsDiff(s.betas(), tensor(prefix + "/betas").toFloatArray());
        float dA = Vectors.maxAbsDiff(s.alphas(), tensor(prefix + "/alphas").toFloatArray());
        float dC = Vectors.maxAbsDiff(s.alphasCumprod(), tensor(prefix + "/alphas_cumprod").toFloatArray());
        System.out.printf("%-36s betas %.3g alphas %.3g alphas_cumprod %.3g%n", name, dB, dA, dC);
        assertTrue(dB <= TOL && dA <= TOL && dC <= TOL, name + ": schedule differs " + dB + " " + dA + " " + dC);

        // the constructor kwargs set on the class's defaults resolve to the same config
        SchedulerConfig b = SchedulerConfig.of(c.get("scheduler").getAsString());
        for (Map.Entry<String, JsonElement> e : c.getAsJsonObject("constructor_kwargs").entrySet()) {
            b = b.with(e.getKey(), e.getValue());
        }
        assertEquals(Vectors.withoutPrivateKeys(c.getAsJsonObject("config")), Vectors.withoutPrivateKeys(b.toJsonObject()));
    }

    private static void checkStep(String name, JsonObject c, Scheduler s, NDManager m) {
        long t = c.get("timestep").getAsLong();
        assertEquals(t, tensor(name + "/timestep").toLongArray()[0]);
        assertEquals(c.get("prev_timestep").getAsLong(), s.previousTimestep(t), name + ": previous timestep");
        NDArray modelOutput = tensor(name + "/model_output");
        NDArray sample = tensor(name + "/sample");
        SchedulerOutput out;
        String extra = "";
        if (s instanceof DDPMScheduler ddpm) {
            NDArray noise = tensor(name + "/variance_noise");
            out = ddpm.step(modelOutput, t, sample, noise);
            float dVar = Math.abs(ddpm.variance(t) - tensor(name + "/variance").toFloatArray()[0]);
            if (t > 0) {
                assertTrue(dVar <= TOL * 1e-2f, name + ": variance differs by " + dVar);
            } // at t = 0 diffusers stores variance 0 (no noise is added), which the step reproduces below
            SchedulerOutput mean = ddpm.step(modelOutput, t, sample, modelOutput.zerosLike());
            mean.prevSample().attach(m);
            mean.predOriginalSample().attach(m);
            float dMean = Vectors.maxAbsDiff(mean.prevSample(), tensor(name + "/prev_sample_mean"));
            assertTrue(dMean <= TOL, name + ": prev_sample_mean differs by " + dMean);
            extra = String.format(" variance %.3g mean %.3g", dVar, dMean);
        } else {
            DDIMScheduler ddim = (DDIMScheduler) s;
            float eta = c.get("eta").getAsFloat();
            NDArray noise = tensors.get(name + "/variance_noise");
            out = noise != null ? ddim.step(modelOutput, t, sample, eta, noise) : ddim.step(modelOutput, t, sample, eta);
            if (tensors.containsKey(name + "/std_dev_t")) {
                float dStd = Math.abs(ddim.stdDev(t, eta) - tensor(name + "/std_dev_t").toFloatArray()[0]);
                assertTrue(dStd <= TOL * 1e-1f, name + ": std_dev_t differs by " + dStd);
                extra = String.format(" std_dev_t %.3g", dStd);
            }
        }
        out.prevSample().attach(m);
        out.predOriginalSample().attach(m);
        float dPrev = Vectors.maxAbsDiff(out.prevSample(), tensor(name + "/prev_sample"));
        float dX0 = Vectors.maxAbsDiff(out.predOriginalSample(), tensor(name + "/pred_original_sample"));
        System.out.printf("%-36s prev_sample %.3g pred_original_sample %.3g%s%n", name, dPrev, dX0, extra);
        assertTrue(dPrev <= TOL, name + ": prev_sample differs by " + dPrev);
        assertTrue(dX0 <= TOL, name + ": pred_original_sample differs by " + dX0);
    }
}
