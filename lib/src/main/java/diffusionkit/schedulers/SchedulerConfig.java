package diffusionkit.schedulers;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import diffusionkit.io.CheckpointException;
import diffusionkit.io.JsonConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The configuration of a {@link DDPMScheduler} or {@link DDIMScheduler}: the keys of diffusers'
 * {@code scheduler_config.json}, in diffusers' spelling, with diffusers v0.31 defaults, each declared once below
 * as a {@link JsonConfig.Field}. The typed accessors ({@link #numTrainTimesteps()}, {@link #betaSchedule()}, ...)
 * are the camelCase names of the keys; keys this kit does not know (written by another diffusers version or
 * another scheduler) survive a load / {@link #save(Path)} round trip.
 *
 * <p>A config of DDPMScheduler or DDIMScheduler writes every key that class's constructor takes (a missing one
 * reads and is written as diffusers' default). {@link #forClass(String)} converts a config as diffusers'
 * {@code from_config} does: keys that belong only to the other class are dropped (e.g. {@code variance_type}
 * when a DDPM config is used for DDIM), and {@code _class_name} names the new class.
 *
 * <pre>{@code
 * SchedulerConfig c = SchedulerConfig.load(Path.of("ddpm-cat/scheduler"));    // file or folder
 * SchedulerConfig d = SchedulerConfig.of(SchedulerConfig.DDPM)
 *         .with(SchedulerConfig.BETA_SCHEDULE, "squaredcos_cap_v2");           // from code
 * d.save(Path.of("out/scheduler"));                                          // writes scheduler_config.json
 * }</pre>
 *
 * <p>Which values the schedulers support is checked when a scheduler is built from the config
 * ({@link #validateFor(String)}), so that a file can still be loaded, inspected and saved.
 */
public final class SchedulerConfig extends JsonConfig<SchedulerConfig> {

    /** The file name diffusers uses. */
    public static final String FILE_NAME = "scheduler_config.json";
    /** {@code _class_name} of {@link DDPMScheduler}. */
    public static final String DDPM = "DDPMScheduler";
    /** {@code _class_name} of {@link DDIMScheduler}. */
    public static final String DDIM = "DDIMScheduler";

    /** {@code num_train_timesteps}: the length of the training noise schedule. */
    public static final Field<Integer> NUM_TRAIN_TIMESTEPS = field("num_train_timesteps", 1000);
    /** {@code beta_start}: beta at the first timestep. */
    public static final Field<Double> BETA_START = field("beta_start", 0.0001);
    /** {@code beta_end}: beta at the last timestep. */
    public static final Field<Double> BETA_END = field("beta_end", 0.02);
    /** {@code beta_schedule}: one of {@link #BETA_SCHEDULES} (DDPM also {@code sigmoid}). */
    public static final Field<String> BETA_SCHEDULE = field("beta_schedule", "linear");
    /** {@code trained_betas}: explicit betas (float32), or null for the schedule. */
    public static final Field<float[]> TRAINED_BETAS = field("trained_betas", Type.FLOATS, null);
    /** {@code variance_type} (DDPM only): one of {@link #VARIANCE_TYPES}. */
    public static final Field<String> VARIANCE_TYPE = field("variance_type", "fixed_small");
    /** {@code clip_sample}: clamp the predicted x0 to +-clip_sample_range. */
    public static final Field<Boolean> CLIP_SAMPLE = field("clip_sample", true);
    /** {@code set_alpha_to_one} (DDIM only): alpha-bar of the step before the first is 1. */
    public static final Field<Boolean> SET_ALPHA_TO_ONE = field("set_alpha_to_one", true);
    /** {@code steps_offset}: added to the inference timesteps. */
    public static final Field<Integer> STEPS_OFFSET = field("steps_offset", 0);
    /** {@code prediction_type}: one of {@link #PREDICTION_TYPES}. */
    public static final Field<String> PREDICTION_TYPE = field("prediction_type", "epsilon");
    /** {@code thresholding}: dynamic thresholding (only false is supported). */
    public static final Field<Boolean> THRESHOLDING = field("thresholding", false);
    /** {@code dynamic_thresholding_ratio} (unused while thresholding is false). */
    public static final Field<Double> DYNAMIC_THRESHOLDING_RATIO = field("dynamic_thresholding_ratio", 0.995);
    /** {@code clip_sample_range}: the bound of clip_sample. */
    public static final Field<Double> CLIP_SAMPLE_RANGE = field("clip_sample_range", 1.0);
    /** {@code sample_max_value} (unused while thresholding is false). */
    public static final Field<Double> SAMPLE_MAX_VALUE = field("sample_max_value", 1.0);
    /** {@code timestep_spacing}: one of {@link #TIMESTEP_SPACINGS}. */
    public static final Field<String> TIMESTEP_SPACING = field("timestep_spacing", "leading");
    /** {@code rescale_betas_zero_snr}: rescale the betas to zero terminal SNR. */
    public static final Field<Boolean> RESCALE_BETAS_ZERO_SNR = field("rescale_betas_zero_snr", false);

    /** The keys of diffusers v0.31 {@code DDPMScheduler.__init__}. */
    private static final List<Field<?>> DDPM_FIELDS = List.of(NUM_TRAIN_TIMESTEPS, BETA_START, BETA_END, BETA_SCHEDULE,
            TRAINED_BETAS, VARIANCE_TYPE, CLIP_SAMPLE, PREDICTION_TYPE, THRESHOLDING, DYNAMIC_THRESHOLDING_RATIO,
            CLIP_SAMPLE_RANGE, SAMPLE_MAX_VALUE, TIMESTEP_SPACING, STEPS_OFFSET, RESCALE_BETAS_ZERO_SNR);
    /** The keys of diffusers v0.31 {@code DDIMScheduler.__init__}. */
    private static final List<Field<?>> DDIM_FIELDS = List.of(NUM_TRAIN_TIMESTEPS, BETA_START, BETA_END, BETA_SCHEDULE,
            TRAINED_BETAS, CLIP_SAMPLE, SET_ALPHA_TO_ONE, STEPS_OFFSET, PREDICTION_TYPE, THRESHOLDING,
            DYNAMIC_THRESHOLDING_RATIO, CLIP_SAMPLE_RANGE, SAMPLE_MAX_VALUE, TIMESTEP_SPACING, RESCALE_BETAS_ZERO_SNR);

    /** Supported {@code beta_schedule} values (DDPM also takes {@code sigmoid}, as in diffusers). */
    public static final List<String> BETA_SCHEDULES = List.of("linear", "scaled_linear", "squaredcos_cap_v2");
    /** Supported {@code variance_type} values (DDPM). */
    public static final List<String> VARIANCE_TYPES = List.of("fixed_small", "fixed_large");
    /** Supported {@code prediction_type} values. */
    public static final List<String> PREDICTION_TYPES = List.of("epsilon", "v_prediction", "sample");
    /** Supported {@code timestep_spacing} values. */
    public static final List<String> TIMESTEP_SPACINGS = List.of("leading", "trailing", "linspace");

    private static final Kind<SchedulerConfig> DDPM_KIND = kind(DDPM_FIELDS);
    private static final Kind<SchedulerConfig> DDIM_KIND = kind(DDIM_FIELDS);
    /** A scheduler this kit does not implement: its keys are kept as they are. */
    private static final Kind<SchedulerConfig> OTHER_KIND = kind(List.of());

    private SchedulerConfig(Map<String, JsonElement> values, String source) {
        super(kindOf(className(values.get(CLASS_NAME_KEY))), values, source);
    }

    private static Kind<SchedulerConfig> kind(List<Field<?>> fields) {
        return new Kind<>("scheduler config", FILE_NAME, null, fields, SchedulerConfig::new);
    }

    private static Kind<SchedulerConfig> kindOf(String className) {
        return DDPM.equals(className) ? DDPM_KIND : DDIM.equals(className) ? DDIM_KIND : OTHER_KIND;
    }

    // ------------------------------------------------------------------ creation

    /**
     * Loads {@code scheduler_config.json}: {@code path} is the file itself or a folder holding it (a diffusers
     * pipeline's {@code scheduler/} folder). A config of another scheduler class keeps its keys and is converted
     * by {@link #forClass(String)} (which the schedulers call).
     *
     * @throws CheckpointException when there is no such file, it is not a JSON object or a key has the wrong type
     */
    public static SchedulerConfig load(Path path) throws IOException {
        return read(path, FILE_NAME, "scheduler config", "pass the scheduler folder of a diffusers pipeline or the "
                + FILE_NAME + " itself (write one with diffusers' save_config or SchedulerConfig.save)",
                SchedulerConfig::fromJson);
    }

    /**
     * Parses the text of a {@code scheduler_config.json}.
     *
     * @param text   the JSON text
     * @param source where it came from, for error messages (a file name, "code", ...)
     * @throws IllegalArgumentException when the text is not a JSON object or a key has the wrong type
     */
    public static SchedulerConfig fromJson(String text, String source) {
        return fromJson(parseObject(text, "scheduler config", "scheduler config " + source,
                "pass a diffusers " + FILE_NAME), source);
    }

    /** A config from a JSON object (copied; see {@link #fromJson(String, String)}). */
    public static SchedulerConfig fromJson(JsonObject object, String source) {
        return new SchedulerConfig(object.asMap(), source);
    }

    /**
     * A config of {@code className} ({@link #DDPM} or {@link #DDIM}) with diffusers' defaults; set keys with
     * {@link #with(Field, Object)}, e.g. {@code of(DDPM).with(BETA_SCHEDULE, "squaredcos_cap_v2")}.
     */
    public static SchedulerConfig of(String className) {
        checkClassName(className);
        return new SchedulerConfig(Map.of(CLASS_NAME_KEY, new JsonPrimitive(className)), "code");
    }

    /**
     * This config resolved for another scheduler class, like diffusers'
     * {@code DDIMScheduler.from_config(ddpm.config)}: keys only the original class takes are dropped,
     * keys the new class takes and this config lacks read their defaults, unknown keys are kept.
     */
    public SchedulerConfig forClass(String className) {
        checkClassName(className);
        if (className.equals(className())) {
            return this;
        }
        Map<String, JsonElement> v = values();
        List<Field<?>> target = kindOf(className).fields();
        for (Field<?> f : fields()) {
            if (!target.contains(f)) {
                v.remove(f.key()); // as diffusers' from_config: drop keys only the original class takes
            }
        }
        v.put(CLASS_NAME_KEY, new JsonPrimitive(className));
        return new SchedulerConfig(v, source());
    }

    private static void checkClassName(String className) {
        if (!DDPM.equals(className) && !DDIM.equals(className)) {
            throw new IllegalArgumentException("scheduler class '" + className + "' is not supported: use "
                    + DDPM + " or " + DDIM);
        }
    }

    /** Writes {@code scheduler_config.json} as diffusers does ({@link JsonConfig#save}); Python diffusers loads it unchanged. */
    @Override
    public void save(Path folder) throws IOException {
        if (className() == null) {
            throw new IllegalStateException("scheduler config " + source() + " has no _class_name: convert it with "
                    + "forClass(SchedulerConfig.DDPM or DDIM) before saving");
        }
        super.save(folder);
    }

    // ------------------------------------------------------------------ typed accessors

    /** {@code num_train_timesteps} (default 1000). */
    public int numTrainTimesteps() {
        return get(NUM_TRAIN_TIMESTEPS);
    }

    /** {@code beta_start} (default 0.0001). */
    public double betaStart() {
        return get(BETA_START);
    }

    /** {@code beta_end} (default 0.02). */
    public double betaEnd() {
        return get(BETA_END);
    }

    /** {@code beta_schedule} (default "linear"). */
    public String betaSchedule() {
        return get(BETA_SCHEDULE);
    }

    /** {@code trained_betas} as float32 values, or null when not given (default). */
    public float[] trainedBetas() {
        return get(TRAINED_BETAS);
    }

    /** {@code variance_type} (DDPM; default "fixed_small"). */
    public String varianceType() {
        return get(VARIANCE_TYPE);
    }

    /** {@code clip_sample} (default true). */
    public boolean clipSample() {
        return get(CLIP_SAMPLE);
    }

    /** {@code clip_sample_range} (default 1.0). */
    public double clipSampleRange() {
        return get(CLIP_SAMPLE_RANGE);
    }

    /** {@code set_alpha_to_one} (DDIM; default true). */
    public boolean setAlphaToOne() {
        return get(SET_ALPHA_TO_ONE);
    }

    /** {@code steps_offset} (default 0). */
    public int stepsOffset() {
        return get(STEPS_OFFSET);
    }

    /** {@code prediction_type} (default "epsilon"). */
    public String predictionType() {
        return get(PREDICTION_TYPE);
    }

    /** {@code timestep_spacing} (default "leading"). */
    public String timestepSpacing() {
        return get(TIMESTEP_SPACING);
    }

    /** {@code rescale_betas_zero_snr} (default false). */
    public boolean rescaleBetasZeroSnr() {
        return get(RESCALE_BETAS_ZERO_SNR);
    }

    // ------------------------------------------------------------------ validation

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
        if (get(THRESHOLDING)) {
            throw new IllegalArgumentException(where(THRESHOLDING) + " is true, but dynamic thresholding is not "
                    + "implemented in diffusion-kit: set \"thresholding\" to false (clip_sample then clamps x0 to "
                    + "+-clip_sample_range)");
        }
        if (clipSampleRange() <= 0 && clipSample()) {
            throw new IllegalArgumentException(where(CLIP_SAMPLE_RANGE) + " must be > 0 when clip_sample is true, found "
                    + clipSampleRange());
        }
    }
}
