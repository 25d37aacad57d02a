package diffusionkit.schedulers;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSyntaxException;

import diffusionkit.io.CheckpointException;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The configuration of a {@link DDPMScheduler} or {@link DDIMScheduler}: the keys of diffusers'
 * {@code scheduler_config.json}, in diffusers' spelling, with diffusers v0.31 defaults.
 *
 * <p>All keys are kept in a gson {@link JsonObject}, so that keys this kit does not know (written by
 * another diffusers version or another scheduler) survive a load / {@link #save(Path)} round trip.
 * The typed accessors ({@link #numTrainTimesteps()}, {@link #betaSchedule()}, ...) are the camelCase
 * names of the JSON keys.
 *
 * <p>A config is "resolved" for a scheduler class: every key that class's constructor takes is
 * present (missing ones get diffusers' default), keys that belong only to the other supported
 * scheduler class are dropped when converting (as diffusers' {@code from_config} does, e.g.
 * {@code variance_type} when a DDPM config is used for DDIM), and {@code _class_name} names the class.
 *
 * <pre>{@code
 * SchedulerConfig c = SchedulerConfig.load(Path.of("ddpm-cat/scheduler"));    // file or folder
 * SchedulerConfig d = SchedulerConfig.builder(SchedulerConfig.DDPM)
 *         .optBetaSchedule("squaredcos_cap_v2").build();                     // from code
 * d.save(Path.of("out/scheduler"));                                          // writes scheduler_config.json
 * }</pre>
 *
 * <p>Which values the schedulers support is checked when a scheduler is built from the config
 * ({@link #validateFor(String)}), so that a file can still be loaded, inspected and saved.
 */
public final class SchedulerConfig {

    /** The file name diffusers uses. */
    public static final String FILE_NAME = "scheduler_config.json";
    /** The diffusers version written to {@code _diffusers_version} by {@link #save(Path)}. */
    public static final String DIFFUSERS_VERSION = "0.31.0";
    /** {@code _class_name} of {@link DDPMScheduler}. */
    public static final String DDPM = "DDPMScheduler";
    /** {@code _class_name} of {@link DDIMScheduler}. */
    public static final String DDIM = "DDIMScheduler";

    /** Config keys. */
    public static final String NUM_TRAIN_TIMESTEPS = "num_train_timesteps";
    public static final String BETA_START = "beta_start";
    public static final String BETA_END = "beta_end";
    public static final String BETA_SCHEDULE = "beta_schedule";
    public static final String TRAINED_BETAS = "trained_betas";
    public static final String VARIANCE_TYPE = "variance_type";
    public static final String CLIP_SAMPLE = "clip_sample";
    public static final String SET_ALPHA_TO_ONE = "set_alpha_to_one";
    public static final String STEPS_OFFSET = "steps_offset";
    public static final String PREDICTION_TYPE = "prediction_type";
    public static final String THRESHOLDING = "thresholding";
    public static final String DYNAMIC_THRESHOLDING_RATIO = "dynamic_thresholding_ratio";
    public static final String CLIP_SAMPLE_RANGE = "clip_sample_range";
    public static final String SAMPLE_MAX_VALUE = "sample_max_value";
    public static final String TIMESTEP_SPACING = "timestep_spacing";
    public static final String RESCALE_BETAS_ZERO_SNR = "rescale_betas_zero_snr";

    /** Supported {@code beta_schedule} values (DDPM also takes {@code sigmoid}, as in diffusers). */
    public static final List<String> BETA_SCHEDULES = List.of("linear", "scaled_linear", "squaredcos_cap_v2");
    /** Supported {@code variance_type} values (DDPM). */
    public static final List<String> VARIANCE_TYPES = List.of("fixed_small", "fixed_large");
    /** Supported {@code prediction_type} values. */
    public static final List<String> PREDICTION_TYPES = List.of("epsilon", "v_prediction", "sample");
    /** Supported {@code timestep_spacing} values. */
    public static final List<String> TIMESTEP_SPACINGS = List.of("leading", "trailing", "linspace");

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

    // diffusers v0.31 __init__ signatures, in order, with their defaults
    private static final Map<String, JsonElement> DDPM_DEFAULTS = new LinkedHashMap<>();
    private static final Map<String, JsonElement> DDIM_DEFAULTS = new LinkedHashMap<>();

    static {
        DDPM_DEFAULTS.put(NUM_TRAIN_TIMESTEPS, new JsonPrimitive(1000));
        DDPM_DEFAULTS.put(BETA_START, pyFloat(0.0001));
        DDPM_DEFAULTS.put(BETA_END, pyFloat(0.02));
        DDPM_DEFAULTS.put(BETA_SCHEDULE, new JsonPrimitive("linear"));
        DDPM_DEFAULTS.put(TRAINED_BETAS, JsonNull.INSTANCE);
        DDPM_DEFAULTS.put(VARIANCE_TYPE, new JsonPrimitive("fixed_small"));
        DDPM_DEFAULTS.put(CLIP_SAMPLE, new JsonPrimitive(true));
        DDPM_DEFAULTS.put(PREDICTION_TYPE, new JsonPrimitive("epsilon"));
        DDPM_DEFAULTS.put(THRESHOLDING, new JsonPrimitive(false));
        DDPM_DEFAULTS.put(DYNAMIC_THRESHOLDING_RATIO, pyFloat(0.995));
        DDPM_DEFAULTS.put(CLIP_SAMPLE_RANGE, pyFloat(1.0));
        DDPM_DEFAULTS.put(SAMPLE_MAX_VALUE, pyFloat(1.0));
        DDPM_DEFAULTS.put(TIMESTEP_SPACING, new JsonPrimitive("leading"));
        DDPM_DEFAULTS.put(STEPS_OFFSET, new JsonPrimitive(0));
        DDPM_DEFAULTS.put(RESCALE_BETAS_ZERO_SNR, new JsonPrimitive(false));

        DDIM_DEFAULTS.put(NUM_TRAIN_TIMESTEPS, new JsonPrimitive(1000));
        DDIM_DEFAULTS.put(BETA_START, pyFloat(0.0001));
        DDIM_DEFAULTS.put(BETA_END, pyFloat(0.02));
        DDIM_DEFAULTS.put(BETA_SCHEDULE, new JsonPrimitive("linear"));
        DDIM_DEFAULTS.put(TRAINED_BETAS, JsonNull.INSTANCE);
        DDIM_DEFAULTS.put(CLIP_SAMPLE, new JsonPrimitive(true));
        DDIM_DEFAULTS.put(SET_ALPHA_TO_ONE, new JsonPrimitive(true));
        DDIM_DEFAULTS.put(STEPS_OFFSET, new JsonPrimitive(0));
        DDIM_DEFAULTS.put(PREDICTION_TYPE, new JsonPrimitive("epsilon"));
        DDIM_DEFAULTS.put(THRESHOLDING, new JsonPrimitive(false));
        DDIM_DEFAULTS.put(DYNAMIC_THRESHOLDING_RATIO, pyFloat(0.995));
        DDIM_DEFAULTS.put(CLIP_SAMPLE_RANGE, pyFloat(1.0));
        DDIM_DEFAULTS.put(SAMPLE_MAX_VALUE, pyFloat(1.0));
        DDIM_DEFAULTS.put(TIMESTEP_SPACING, new JsonPrimitive("leading"));
        DDIM_DEFAULTS.put(RESCALE_BETAS_ZERO_SNR, new JsonPrimitive(false));
    }

    private final JsonObject json;
    private final String source;

    private SchedulerConfig(JsonObject raw, String targetClass, String source) {
        this.source = source;
        this.json = resolve(raw, targetClass);
        checkTypes();
    }

    // ------------------------------------------------------------------ creation

    /**
     * Loads {@code scheduler_config.json}: {@code path} is the file itself or a folder holding it (a
     * diffusers pipeline's {@code scheduler/} folder). The config is resolved for the class its
     * {@code _class_name} names when that is DDPMScheduler or DDIMScheduler; other classes keep
     * their keys and are converted by {@link #forClass(String)} (which the schedulers call).
     *
     * @throws NoSuchFileException when there is no such file or the folder has no scheduler_config.json
     * @throws CheckpointException when the file is not a JSON object or a key has the wrong type
     */
    public static SchedulerConfig load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, Files.isDirectory(path)
                    ? "the folder has no " + FILE_NAME + ": pass the scheduler folder of a diffusers pipeline, or the file itself"
                    : "no such file: pass a " + FILE_NAME + " or the folder that holds it");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return fromJson(text, file.toString());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
    }

    /**
     * Parses the text of a {@code scheduler_config.json}.
     *
     * @param text   the JSON text
     * @param source where it came from, for error messages (a file name, "code", ...)
     * @throws IllegalArgumentException when the text is not a JSON object or a key has the wrong type
     */
    public static SchedulerConfig fromJson(String text, String source) {
        JsonElement parsed;
        try {
            parsed = com.google.gson.JsonParser.parseString(text);
        } catch (JsonSyntaxException e) {
            throw new IllegalArgumentException("scheduler config " + source + " is not valid JSON (" + e.getMessage()
                    + "): fix the file or write it again with diffusers' save_config / SchedulerConfig.save", e);
        }
        if (!parsed.isJsonObject()) {
            throw new IllegalArgumentException("scheduler config " + source + " must be a JSON object {...}, found "
                    + shortText(parsed) + ": pass a diffusers " + FILE_NAME);
        }
        return fromJson(parsed.getAsJsonObject(), source);
    }

    /** A config from a JSON object (copied; see {@link #fromJson(String, String)}). */
    public static SchedulerConfig fromJson(JsonObject object, String source) {
        JsonElement cls = object.get("_class_name");
        String target = null;
        if (cls != null && cls.isJsonPrimitive() && (DDPM.equals(cls.getAsString()) || DDIM.equals(cls.getAsString()))) {
            target = cls.getAsString();
        }
        return new SchedulerConfig(object.deepCopy(), target, source);
    }

    /** A builder for a config of {@code className} ({@link #DDPM} or {@link #DDIM}) with diffusers' defaults. */
    public static Builder builder(String className) {
        checkClassName(className);
        JsonObject o = new JsonObject();
        o.addProperty("_class_name", className);
        return new Builder(o, className);
    }

    /** A builder that starts from this config (all keys, unknown ones included). */
    public Builder toBuilder() {
        return new Builder(json.deepCopy(), className());
    }

    /**
     * This config resolved for another scheduler class, like diffusers'
     * {@code DDIMScheduler.from_config(ddpm.config)}: keys only the original class takes are dropped,
     * keys the new class takes and this config lacks get their defaults, unknown keys are kept.
     */
    public SchedulerConfig forClass(String className) {
        checkClassName(className);
        if (className.equals(className())) {
            return this;
        }
        return new SchedulerConfig(json.deepCopy(), className, source);
    }

    private static void checkClassName(String className) {
        if (!DDPM.equals(className) && !DDIM.equals(className)) {
            throw new IllegalArgumentException("scheduler class '" + className + "' is not supported: use "
                    + DDPM + " or " + DDIM);
        }
    }

    private static JsonObject resolve(JsonObject raw, String target) {
        JsonObject out = new JsonObject();
        raw.remove("_use_default_values"); // diffusers-internal bookkeeping, never saved
        raw.remove("_ignore_files");
        JsonElement origCls = raw.get("_class_name");
        String orig = origCls != null && origCls.isJsonPrimitive() ? origCls.getAsString() : null;
        if (target == null) {
            // unknown class: keep everything as it is
            for (Map.Entry<String, JsonElement> e : raw.entrySet()) {
                out.add(e.getKey(), e.getValue());
            }
            return out;
        }
        Map<String, JsonElement> defaults = DDPM.equals(target) ? DDPM_DEFAULTS : DDIM_DEFAULTS;
        Map<String, JsonElement> other = DDPM.equals(target) ? DDIM_DEFAULTS : DDPM_DEFAULTS;
        boolean converting = orig != null && !orig.equals(target) && (DDPM.equals(orig) || DDIM.equals(orig));
        out.addProperty("_class_name", target);
        if (raw.has("_diffusers_version")) {
            out.add("_diffusers_version", raw.get("_diffusers_version"));
        }
        for (Map.Entry<String, JsonElement> d : defaults.entrySet()) {
            JsonElement v = raw.get(d.getKey());
            out.add(d.getKey(), v != null ? v : d.getValue().deepCopy());
        }
        for (Map.Entry<String, JsonElement> e : raw.entrySet()) {
            String k = e.getKey();
            if (out.has(k) || k.equals("_class_name")) {
                continue;
            }
            if (converting && other.containsKey(k) && !defaults.containsKey(k)) {
                continue; // as diffusers' from_config: drop keys only the original class takes
            }
            out.add(k, e.getValue());
        }
        return out;
    }

    // ------------------------------------------------------------------ saving

    /**
     * Writes {@code scheduler_config.json} into {@code folder} (created if needed) as diffusers'
     * {@code save_config} does: all keys sorted, two-space indent, {@code _class_name} and
     * {@code _diffusers_version} = {@value #DIFFUSERS_VERSION}. Python diffusers loads it unchanged.
     * Other files in the folder are left alone; the file is written atomically.
     */
    public void save(Path folder) throws IOException {
        if (className() == null) {
            throw new IllegalStateException("scheduler config " + source + " has no _class_name of a supported scheduler: "
                    + "convert it with forClass(SchedulerConfig.DDPM or DDIM) before saving");
        }
        Files.createDirectories(folder);
        AtomicFiles.writeString(folder.resolve(FILE_NAME), toJsonString());
    }

    /** The text {@link #save(Path)} writes. */
    public String toJsonString() {
        TreeMap<String, JsonElement> sorted = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : json.entrySet()) {
            sorted.put(e.getKey(), e.getValue());
        }
        sorted.put("_diffusers_version", new JsonPrimitive(DIFFUSERS_VERSION));
        JsonObject o = new JsonObject();
        sorted.forEach(o::add);
        return GSON.toJson(o) + "\n";
    }

    /** A copy of all keys (resolved defaults and unknown keys included). */
    public JsonObject toJson() {
        return json.deepCopy();
    }

    /** The value of any key, or null when absent (JSON null is {@link JsonNull}). */
    public JsonElement get(String key) {
        JsonElement e = json.get(key);
        return e == null ? null : e.deepCopy();
    }

    /** The keys this config holds. */
    public Set<String> keys() {
        return Collections.unmodifiableSet(json.keySet());
    }

    /** Where this config came from (a file name, or "code"), as used in error messages. */
    public String source() {
        return source;
    }

    // ------------------------------------------------------------------ typed accessors

    /** {@code _class_name}: {@link #DDPM}, {@link #DDIM}, another class's name, or null. */
    public String className() {
        JsonElement e = json.get("_class_name");
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }

    /** {@code num_train_timesteps} (default 1000). */
    public int numTrainTimesteps() {
        return (int) integer(NUM_TRAIN_TIMESTEPS, 1000);
    }

    /** {@code beta_start} (default 0.0001). */
    public double betaStart() {
        return number(BETA_START, 0.0001);
    }

    /** {@code beta_end} (default 0.02). */
    public double betaEnd() {
        return number(BETA_END, 0.02);
    }

    /** {@code beta_schedule} (default "linear"). */
    public String betaSchedule() {
        return string(BETA_SCHEDULE, "linear");
    }

    /** {@code trained_betas} as float32 values, or null when not given (default). */
    public float[] trainedBetas() {
        JsonElement e = json.get(TRAINED_BETAS);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        JsonArray a = e.getAsJsonArray();
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).getAsDouble(); // torch.tensor(list, dtype=float32)
        }
        return out;
    }

    /** {@code variance_type} (DDPM; default "fixed_small"). */
    public String varianceType() {
        return string(VARIANCE_TYPE, "fixed_small");
    }

    /** {@code clip_sample} (default true). */
    public boolean clipSample() {
        return bool(CLIP_SAMPLE, true);
    }

    /** {@code clip_sample_range} (default 1.0). */
    public double clipSampleRange() {
        return number(CLIP_SAMPLE_RANGE, 1.0);
    }

    /** {@code set_alpha_to_one} (DDIM; default true). */
    public boolean setAlphaToOne() {
        return bool(SET_ALPHA_TO_ONE, true);
    }

    /** {@code steps_offset} (default 0). */
    public int stepsOffset() {
        return (int) integer(STEPS_OFFSET, 0);
    }

    /** {@code prediction_type} (default "epsilon"). */
    public String predictionType() {
        return string(PREDICTION_TYPE, "epsilon");
    }

    /** {@code thresholding} (default false; true is not supported). */
    public boolean thresholding() {
        return bool(THRESHOLDING, false);
    }

    /** {@code dynamic_thresholding_ratio} (default 0.995; unused while thresholding is false). */
    public double dynamicThresholdingRatio() {
        return number(DYNAMIC_THRESHOLDING_RATIO, 0.995);
    }

    /** {@code sample_max_value} (default 1.0; unused while thresholding is false). */
    public double sampleMaxValue() {
        return number(SAMPLE_MAX_VALUE, 1.0);
    }

    /** {@code timestep_spacing} (default "leading"). */
    public String timestepSpacing() {
        return string(TIMESTEP_SPACING, "leading");
    }

    /** {@code rescale_betas_zero_snr} (default false). */
    public boolean rescaleBetasZeroSnr() {
        return bool(RESCALE_BETAS_ZERO_SNR, false);
    }

    // ------------------------------------------------------------------ validation

    private String where(String key) {
        return "scheduler config " + source + ": \"" + key + "\"";
    }

    private JsonElement present(String key) {
        JsonElement e = json.get(key);
        return e == null || e.isJsonNull() ? null : e;
    }

    private double number(String key, double dflt) {
        JsonElement e = present(key);
        return e == null ? dflt : e.getAsDouble();
    }

    private long integer(String key, long dflt) {
        JsonElement e = present(key);
        return e == null ? dflt : (long) e.getAsDouble();
    }

    private boolean bool(String key, boolean dflt) {
        JsonElement e = present(key);
        return e == null ? dflt : e.getAsBoolean();
    }

    private String string(String key, String dflt) {
        JsonElement e = present(key);
        return e == null ? dflt : e.getAsString();
    }

    private void checkTypes() {
        for (String k : List.of(NUM_TRAIN_TIMESTEPS, STEPS_OFFSET)) {
            JsonElement e = present(k);
            if (e != null && !(isNumber(e) && e.getAsDouble() == Math.rint(e.getAsDouble()))) {
                throw new IllegalArgumentException(where(k) + " must be an integer, found " + shortText(e) + ": fix the value");
            }
        }
        for (String k : List.of(BETA_START, BETA_END, DYNAMIC_THRESHOLDING_RATIO, CLIP_SAMPLE_RANGE, SAMPLE_MAX_VALUE)) {
            JsonElement e = present(k);
            if (e != null && !isNumber(e)) {
                throw new IllegalArgumentException(where(k) + " must be a number, found " + shortText(e) + ": fix the value");
            }
        }
        for (String k : List.of(CLIP_SAMPLE, SET_ALPHA_TO_ONE, THRESHOLDING, RESCALE_BETAS_ZERO_SNR)) {
            JsonElement e = present(k);
            if (e != null && !(e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean())) {
                throw new IllegalArgumentException(where(k) + " must be true or false, found " + shortText(e) + ": fix the value");
            }
        }
        for (String k : List.of(BETA_SCHEDULE, VARIANCE_TYPE, PREDICTION_TYPE, TIMESTEP_SPACING)) {
            JsonElement e = present(k);
            if (e != null && !(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString())) {
                throw new IllegalArgumentException(where(k) + " must be a string, found " + shortText(e) + ": fix the value");
            }
        }
        JsonElement tb = present(TRAINED_BETAS);
        if (tb != null) {
            if (!tb.isJsonArray()) {
                throw new IllegalArgumentException(where(TRAINED_BETAS) + " must be null or a list of numbers, found "
                        + shortText(tb) + ": fix the value");
            }
            for (JsonElement x : tb.getAsJsonArray()) {
                if (!isNumber(x)) {
                    throw new IllegalArgumentException(where(TRAINED_BETAS) + " must be a list of numbers, found element "
                            + shortText(x) + ": fix the value");
                }
            }
        }
    }

    /**
     * Checks that the scheduler {@code className} supports every value of this config, as diffusers
     * v0.31 does and for the parts this kit implements. Called by the scheduler constructors.
     *
     * @throws IllegalArgumentException naming the key, the value, the supported values and the source
     */
    public void validateFor(String className) {
        checkClassName(className);
        int n = numTrainTimesteps();
        if (n < 1) {
            throw new IllegalArgumentException(where(NUM_TRAIN_TIMESTEPS) + " must be at least 1, found " + n);
        }
        if (stepsOffset() < 0) {
            throw new IllegalArgumentException(where(STEPS_OFFSET) + " must be >= 0, found " + stepsOffset());
        }
        float[] tb = trainedBetas();
        if (tb == null) {
            List<String> schedules = new ArrayList<>(BETA_SCHEDULES);
            if (DDPM.equals(className)) {
                schedules.add("sigmoid");
            }
            if (!schedules.contains(betaSchedule())) {
                throw new IllegalArgumentException(where(BETA_SCHEDULE) + " is '" + betaSchedule() + "', which " + className
                        + " does not implement: use one of " + schedules + " (or give \"trained_betas\")");
            }
        } else if (tb.length != n) {
            throw new IllegalArgumentException(where(TRAINED_BETAS) + " has " + tb.length + " values but \""
                    + NUM_TRAIN_TIMESTEPS + "\" is " + n + ": give one beta per training timestep");
        }
        if (DDPM.equals(className) && !VARIANCE_TYPES.contains(varianceType())) {
            String why = List.of("fixed_small_log", "fixed_large_log", "learned", "learned_range").contains(varianceType())
                    ? " is a diffusers variance type that diffusion-kit does not support"
                    : " is not a known variance type";
            throw new IllegalArgumentException(where(VARIANCE_TYPE) + " '" + varianceType() + "'" + why
                    + ": supported values are " + VARIANCE_TYPES + " (set \"variance_type\" to one of them; "
                    + "a model trained with learned variance outputs 2x channels and cannot be sampled here)");
        }
        if (!PREDICTION_TYPES.contains(predictionType())) {
            throw new IllegalArgumentException(where(PREDICTION_TYPE) + " '" + predictionType()
                    + "' is not supported: use one of " + PREDICTION_TYPES);
        }
        if (!TIMESTEP_SPACINGS.contains(timestepSpacing())) {
            throw new IllegalArgumentException(where(TIMESTEP_SPACING) + " '" + timestepSpacing()
                    + "' is not supported: use one of " + TIMESTEP_SPACINGS);
        }
        if (thresholding()) {
            throw new IllegalArgumentException(where(THRESHOLDING) + " is true, but dynamic thresholding is not "
                    + "implemented in diffusion-kit: set \"thresholding\" to false (clip_sample then clamps x0 to "
                    + "+-clip_sample_range)");
        }
        if (clipSampleRange() <= 0 && clipSample()) {
            throw new IllegalArgumentException(where(CLIP_SAMPLE_RANGE) + " must be > 0 when clip_sample is true, found "
                    + clipSampleRange());
        }
    }

    private static boolean isNumber(JsonElement e) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber();
    }

    private static String shortText(JsonElement e) {
        String s = e.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** A double as a JSON number spelled as Python's repr writes it (0.0001, 1.0, 1e-05). */
    static JsonPrimitive pyFloat(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException("a scheduler config number must be finite, got " + d);
        }
        double a = Math.abs(d);
        String text;
        if (a == 0 || (a >= 1e-4 && a < 1e16)) {
            text = new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
            if (!text.contains(".")) {
                text = text + ".0";
            }
        } else {
            // Java writes 1.0E-5, Python 1e-05
            String j = Double.toString(d);
            int e = j.indexOf('E');
            String mantissa = j.substring(0, e);
            if (mantissa.endsWith(".0")) {
                mantissa = mantissa.substring(0, mantissa.length() - 2);
            }
            int exp = Integer.parseInt(j.substring(e + 1));
            text = mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        return com.google.gson.JsonParser.parseString(text).getAsJsonPrimitive(); // keeps the spelling
    }

    @Override
    public String toString() {
        return GSON.toJson(json);
    }

    /** Equal when all keys and values are equal, {@code _diffusers_version} aside (save writes the current one). */
    @Override
    public boolean equals(Object o) {
        return o instanceof SchedulerConfig c && c.comparable().equals(comparable());
    }

    @Override
    public int hashCode() {
        return comparable().hashCode();
    }

    private JsonObject comparable() {
        JsonObject o = json.deepCopy();
        o.remove("_diffusers_version");
        return o;
    }

    /**
     * Builds a config from code: every {@code opt*} is optional and defaults to diffusers' value.
     * Names are the camelCase JSON keys.
     */
    public static final class Builder {
        private final JsonObject o;
        private final String className;

        private Builder(JsonObject o, String className) {
            this.o = o;
            this.className = className;
        }

        /** {@code num_train_timesteps}. */
        public Builder optNumTrainTimesteps(int n) {
            o.addProperty(NUM_TRAIN_TIMESTEPS, n);
            return this;
        }

        /** {@code beta_start}. */
        public Builder optBetaStart(double v) {
            o.add(BETA_START, pyFloat(v));
            return this;
        }

        /** {@code beta_end}. */
        public Builder optBetaEnd(double v) {
            o.add(BETA_END, pyFloat(v));
            return this;
        }

        /** {@code beta_schedule}: linear, scaled_linear or squaredcos_cap_v2 (DDPM also sigmoid). */
        public Builder optBetaSchedule(String v) {
            o.addProperty(BETA_SCHEDULE, v);
            return this;
        }

        /** {@code trained_betas} (null for none); overrides the beta schedule. */
        public Builder optTrainedBetas(float[] betas) {
            if (betas == null) {
                o.add(TRAINED_BETAS, JsonNull.INSTANCE);
            } else {
                JsonArray a = new JsonArray();
                for (float b : betas) {
                    a.add(new BigDecimal(Float.toString(b))); // shortest text that reads back as this float32
                }
                o.add(TRAINED_BETAS, a);
            }
            return this;
        }

        /** {@code variance_type} (DDPM): fixed_small or fixed_large. */
        public Builder optVarianceType(String v) {
            o.addProperty(VARIANCE_TYPE, v);
            return this;
        }

        /** {@code clip_sample}. */
        public Builder optClipSample(boolean v) {
            o.addProperty(CLIP_SAMPLE, v);
            return this;
        }

        /** {@code clip_sample_range}. */
        public Builder optClipSampleRange(double v) {
            o.add(CLIP_SAMPLE_RANGE, pyFloat(v));
            return this;
        }

        /** {@code set_alpha_to_one} (DDIM). */
        public Builder optSetAlphaToOne(boolean v) {
            o.addProperty(SET_ALPHA_TO_ONE, v);
            return this;
        }

        /** {@code steps_offset}. */
        public Builder optStepsOffset(int v) {
            o.addProperty(STEPS_OFFSET, v);
            return this;
        }

        /** {@code prediction_type}: epsilon, v_prediction or sample. */
        public Builder optPredictionType(String v) {
            o.addProperty(PREDICTION_TYPE, v);
            return this;
        }

        /** {@code thresholding} (only false is supported by the schedulers). */
        public Builder optThresholding(boolean v) {
            o.addProperty(THRESHOLDING, v);
            return this;
        }

        /** {@code timestep_spacing}: leading, trailing or linspace. */
        public Builder optTimestepSpacing(String v) {
            o.addProperty(TIMESTEP_SPACING, v);
            return this;
        }

        /** {@code rescale_betas_zero_snr}. */
        public Builder optRescaleBetasZeroSnr(boolean v) {
            o.addProperty(RESCALE_BETAS_ZERO_SNR, v);
            return this;
        }

        /** Any key, in diffusers spelling (unknown keys are kept and saved). */
        public Builder optKey(String key, JsonElement value) {
            if (key.equals("_class_name")) {
                throw new IllegalArgumentException("set the class with SchedulerConfig.builder(className) or forClass, not optKey");
            }
            o.add(key, value == null ? JsonNull.INSTANCE : value.deepCopy());
            return this;
        }

        /** Removes a key (a known key then takes its default). */
        public Builder removeKey(String key) {
            o.remove(key);
            return this;
        }

        /**
         * The config, resolved for the builder's class.
         *
         * @throws IllegalArgumentException when a value has the wrong JSON type
         */
        public SchedulerConfig build() {
            try {
                return new SchedulerConfig(o.deepCopy(), className, "code");
            } catch (JsonParseException | IllegalStateException e) {
                throw new IllegalArgumentException("scheduler config from code: " + e.getMessage(), e);
            }
        }
    }
}
