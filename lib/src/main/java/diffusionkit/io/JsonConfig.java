package diffusionkit.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * The one base of the kit's JSON configurations, in the spirit of diffusers' {@code ConfigMixin}: a config class
 * declares each of its keys once, as a {@link Field} with the JSON name diffusers (or transformers) writes, its
 * type and its default,
 * <pre>{@code
 * public static final Field<Integer> IN_CHANNELS = field("in_channels", 3);
 * public int inChannels() { return get(IN_CHANNELS); }
 * }</pre>
 * and this base does the rest: typed reads ({@link #get(Field)}; a missing key reads its default), changed copies
 * ({@link #with}), parsing with type checks that name the key, writing as diffusers' {@code save_config} does
 * ({@link #toJsonString()}: sorted keys, two-space indent, final newline; {@link #save(Path)}, atomic).
 *
 * <p>Keys a class does not declare (written by another diffusers version, or by transformers) are kept and written
 * back unchanged, JSON {@code null} included. A config that has a {@code _class_name} is written with it and with
 * {@code _diffusers_version} {@link #DIFFUSERS_VERSION}; a transformers config (no class name) with neither.
 * A config is immutable; equal configs have equal {@link #toJsonObject()}.
 *
 * @param <C> the config class itself (what {@link #with} returns)
 */
public abstract class JsonConfig<C extends JsonConfig<C>> {

    /** The diffusers version whose semantics the kit follows, written as {@code _diffusers_version}. */
    public static final String DIFFUSERS_VERSION = "0.31.0";
    /** The key of the class name. */
    public static final String CLASS_NAME_KEY = "_class_name";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

    /**
     * A JSON value type.
     *
     * @param description what the value must be, for messages ("an integer", "a list of strings")
     * @param reader the Java value of an element, or null when the element is not of this type
     * @param writer the element of a Java value
     * @param <T> the Java type
     */
    public record Type<T>(String description, Function<JsonElement, T> reader, Function<T, JsonElement> writer) {

        /** A number without a fractional part that fits an int. */
        public static final Type<Integer> INT = new Type<>("an integer", e -> {
            Double d = number(e);
            return d != null && d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE ? (int) (double) d : null;
        }, JsonPrimitive::new);
        /** Any JSON number, written as Python writes a float ({@link #pythonFloat(double)}). */
        public static final Type<Double> NUMBER = new Type<>("a number", JsonConfig::number, JsonConfig::pythonFloat);
        /** {@code true} or {@code false}. */
        public static final Type<Boolean> BOOLEAN = new Type<>("true or false",
                e -> e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean() ? e.getAsBoolean() : null, JsonPrimitive::new);
        /** A JSON string. */
        public static final Type<String> STRING = new Type<>("a string",
                e -> e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null, JsonPrimitive::new);
        /** A number as float32 ({@code torch.tensor(list, dtype=float32)}), written in the shortest text that reads back. */
        private static final Type<Float> FLOAT32 = new Type<>("a number", e -> e.isJsonPrimitive()
                && e.getAsJsonPrimitive().isNumber() ? e.getAsFloat() : null, x -> new JsonPrimitive(new BigDecimal(Float.toString(x))));
        /** A list of strings. */
        public static final Type<List<String>> STRINGS = listOf(STRING, "a list of strings");
        /** A list of integers, as an {@code int[]}. */
        public static final Type<int[]> INTS = listOf(INT, "a list of integers")
                .map(l -> l.stream().mapToInt(Integer::intValue).toArray(), a -> Arrays.stream(a).boxed().toList());
        /** A list of numbers, as float32 values. */
        public static final Type<float[]> FLOATS = listOf(FLOAT32, "a list of numbers").map(l -> {
            float[] out = new float[l.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = l.get(i);
            }
            return out;
        }, a -> IntStream.range(0, a.length).mapToObj(i -> a[i]).toList());
        /** A JSON object, kept as it is (a nested config). */
        public static final Type<JsonObject> OBJECT = new Type<>("a JSON object {...}",
                e -> e.isJsonObject() ? e.getAsJsonObject().deepCopy() : null, JsonObject::deepCopy);

        /** A list whose elements are all of {@code element} (no nulls). */
        public static <T> Type<List<T>> listOf(Type<T> element, String description) {
            return new Type<>(description, e -> {
                if (!e.isJsonArray()) {
                    return null;
                }
                List<T> out = new ArrayList<>();
                for (JsonElement x : e.getAsJsonArray()) {
                    T v = x.isJsonNull() ? null : element.reader().apply(x);
                    if (v == null) {
                        return null;
                    }
                    out.add(v);
                }
                return Collections.unmodifiableList(out);
            }, v -> {
                JsonArray a = new JsonArray();
                v.forEach(x -> a.add(element.writer().apply(x)));
                return a;
            });
        }

        /** This type read as a {@code U} ({@code to}) and written from one ({@code from}). */
        public <U> Type<U> map(Function<T, U> to, Function<U, T> from) {
            return new Type<>(description, e -> {
                T v = reader.apply(e);
                return v == null ? null : to.apply(v);
            }, u -> writer.apply(from.apply(u)));
        }
    }

    /**
     * One declared key of a config class.
     *
     * @param key the JSON name
     * @param type the value type
     * @param defaultJson the default as diffusers writes it (what a missing key reads)
     * @param nullable whether JSON {@code null} is a valid value (always when the default is null)
     * @param <T> the Java type of the value
     */
    public record Field<T>(String key, Type<T> type, JsonElement defaultJson, boolean nullable) {

        /** A null default makes the key nullable. */
        public Field {
            nullable = nullable || defaultJson.isJsonNull();
        }

        /** The same key, also accepting JSON {@code null} (read as Java null). */
        public Field<T> orNull() {
            return new Field<>(key, type, defaultJson, true);
        }

        /** What a missing key reads. */
        public T defaultValue() {
            return defaultJson.isJsonNull() ? null : type.reader().apply(defaultJson);
        }

        @Override
        public String toString() {
            return key;
        }
    }

    /** A key of any type with its default (null: the key is nullable). */
    public static <T> Field<T> field(String key, Type<T> type, T defaultValue) {
        return new Field<>(key, type, defaultValue == null ? JsonNull.INSTANCE : type.writer().apply(defaultValue), false);
    }

    /** An integer key. */
    public static Field<Integer> field(String key, int defaultValue) {
        return field(key, Type.INT, defaultValue);
    }

    /** A number key, its default written as Python writes a float ({@code 0.0001}, {@code 1.0}, {@code 1e-05}). */
    public static Field<Double> field(String key, double defaultValue) {
        return field(key, Type.NUMBER, defaultValue);
    }

    /** A number key whose default diffusers spells as an integer ({@code "mid_block_scale_factor": 1}). */
    public static Field<Double> numberField(String key, int defaultValue) {
        return new Field<>(key, Type.NUMBER, new JsonPrimitive(defaultValue), false);
    }

    /** A boolean key. */
    public static Field<Boolean> field(String key, boolean defaultValue) {
        return field(key, Type.BOOLEAN, defaultValue);
    }

    /** A string key (a null default makes it nullable). */
    public static Field<String> field(String key, String defaultValue) {
        return field(key, Type.STRING, defaultValue);
    }

    /**
     * What a config class is: its keys, the names the base needs and its constructor.
     *
     * @param what what the config is, for messages ("UNet2DModel config", "scheduler config")
     * @param fileName its file in a model folder ({@code config.json}); null for a config nested in another
     * @param className the {@code _class_name} always written (one diffusers class); null: the stored one, if any
     * @param fields the declared keys (their stored values are type-checked, their defaults written when absent)
     * @param create the config of the stored keys and the source (what {@link #with} returns)
     * @param <C> the config class
     */
    public record Kind<C>(String what, String fileName, String className, List<Field<?>> fields,
            BiFunction<Map<String, JsonElement>, String, C> create) {
        /** Copies the field list. */
        public Kind {
            fields = List.copyOf(fields);
        }
    }

    private final Kind<C> kind;
    private final Map<String, JsonElement> values;
    private final String source;

    /**
     * @param kind the config class's keys and names
     * @param values the stored keys (copied; {@code _diffusers_version} and diffusers' bookkeeping keys
     *     {@code _use_default_values} and {@code _ignore_files} are dropped)
     * @param source where the config came from (a file, or "code"), for messages
     * @throws IllegalArgumentException naming the first declared key whose value has the wrong type, and the fix
     */
    protected JsonConfig(Kind<C> kind, Map<String, JsonElement> values, String source) {
        Map<String, JsonElement> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> copy.put(k, v == null ? JsonNull.INSTANCE : v.deepCopy()));
        copy.keySet().removeAll(List.of("_diffusers_version", "_use_default_values", "_ignore_files"));
        this.kind = kind;
        this.values = Collections.unmodifiableMap(copy);
        this.source = source;
        kind.fields().forEach(this::get);
    }

    /** What this config is, for messages ("UNet2DModel config", "scheduler config"). */
    public String what() {
        return kind.what();
    }

    /** The {@code _class_name} written with this config: the kind's, else the stored one, else null (none). */
    public String className() {
        return kind.className() != null ? kind.className() : className(values.get(CLASS_NAME_KEY));
    }

    /** The keys this config declares (their defaults are written when absent). */
    public List<Field<?>> fields() {
        return kind.fields();
    }

    /** Where this config came from (a file name, or "code"), as used in messages. */
    public String source() {
        return source;
    }

    /**
     * The value of {@code field}: the stored one, or the declared default when the key is absent.
     *
     * @throws IllegalArgumentException when the stored value is not of the field's type (naming key and fix)
     */
    public <T> T get(Field<T> field) {
        JsonElement e = values.getOrDefault(field.key(), field.defaultJson());
        T v = e.isJsonNull() ? null : field.type().reader().apply(e); // read afresh: a caller may change an array it gets
        if (v == null && !(e.isJsonNull() && field.nullable())) {
            throw new IllegalArgumentException(where(field) + " must be " + field.type().description()
                    + (field.nullable() ? " or null" : "") + ", found " + shortText(e)
                    + ": fix the value, or remove the key for its default " + field.defaultJson());
        }
        return v;
    }

    /** {@code <what> <source>: "<key>"}: how a message about {@code field}'s value begins. */
    protected String where(Field<?> field) {
        return what() + " " + source + ": \"" + field.key() + "\"";
    }

    /** The value of the declared key named {@code key} (for a base whose subclasses declare it with their own defaults). */
    @SuppressWarnings("unchecked")
    protected <T> T declared(String key) {
        return (T) get(kind.fields().stream().filter(f -> f.key().equals(key)).findFirst().orElseThrow());
    }

    /** The JSON value of any key as {@link #toJsonObject()} writes it (a declared key's default when absent), or null. */
    public JsonElement get(String key) {
        return toJsonObject().get(key);
    }

    /** The keys stored in the source (or set by {@link #with}), in their order; declared keys at their default are not. */
    public List<String> storedKeys() {
        return new ArrayList<>(values.keySet());
    }

    /** The stored keys (a copy): what subclasses derive a config from. */
    protected Map<String, JsonElement> values() {
        Map<String, JsonElement> m = new LinkedHashMap<>();
        values.forEach((k, v) -> m.put(k, v.deepCopy()));
        return m;
    }

    /** A copy with {@code field} set to {@code value} (null writes JSON null, which the field must accept). */
    public <T> C with(Field<T> field, T value) {
        return with(field.key(), value == null ? JsonNull.INSTANCE : field.type().writer().apply(value));
    }

    /**
     * A copy with {@code key} set to {@code value}: a JsonElement, a double (written as Python writes a float), a
     * float[] (float32, in the shortest text), or what Gson writes as JSON (String, Number, Boolean, int[], List, null).
     *
     * @throws IllegalArgumentException when the value has the wrong type for a declared key
     */
    public C with(String key, Object value) {
        Map<String, JsonElement> m = values();
        m.put(key, value instanceof JsonElement e ? e.deepCopy()
                : value instanceof Double || value instanceof Float ? pythonFloat(((Number) value).doubleValue())
                : value instanceof float[] f ? Type.FLOATS.writer().apply(f) : GSON.toJsonTree(value));
        return kind.create().apply(m, source);
    }

    /**
     * The config as written: every declared key (defaults filled in), every other stored key unchanged,
     * {@code _class_name} and {@code _diffusers_version} when there is a class name; sorted by key.
     */
    public JsonObject toJsonObject() {
        TreeMap<String, JsonElement> all = new TreeMap<>();
        kind.fields().forEach(f -> all.put(f.key(), f.defaultJson().deepCopy()));
        values.forEach((k, v) -> all.put(k, v.deepCopy()));
        String cls = className();
        if (cls != null) {
            all.put(CLASS_NAME_KEY, new JsonPrimitive(cls));
            all.put("_diffusers_version", new JsonPrimitive(DIFFUSERS_VERSION));
        }
        JsonObject o = new JsonObject();
        all.forEach(o::add);
        return o;
    }

    /** {@link #toJsonObject()} as diffusers' {@code save_config} writes it: two-space indent, sorted keys, final newline. */
    public String toJsonString() {
        return GSON.toJson(toJsonObject()) + "\n";
    }

    /** This config's file in a model folder ({@code config.json}, {@code scheduler_config.json}); null when nested. */
    public String fileName() {
        return kind.fileName();
    }

    /** Writes {@link #fileName()} into {@code folder} (created if needed), atomically; other files are left alone. */
    public void save(Path folder) throws IOException {
        if (fileName() == null) {
            throw new IllegalStateException(what() + " " + source + " is written inside another config: save that one");
        }
        AtomicFiles.writeString(folder.resolve(fileName()), toJsonString());
    }

    /**
     * Parses JSON text that must be an object.
     *
     * @param what what the text should be, for messages ("scheduler config")
     * @param source where it came from
     * @param fix what to do when it is not
     * @throws IllegalArgumentException when the text is not JSON or not an object, naming source and fix
     */
    public static JsonObject parseObject(String text, String what, String source, String fix) {
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(source + " is not valid JSON (" + e.getMessage() + "): " + fix, e);
        }
        if (!parsed.isJsonObject()) {
            throw new IllegalArgumentException(source + " is not a " + what + " (its JSON is not an object {...} but "
                    + shortText(parsed) + "): " + fix);
        }
        return parsed.getAsJsonObject();
    }

    /**
     * Reads a config file: {@code path} is the file itself or the folder that holds {@code fileName}.
     *
     * @param what what the file should be, for messages
     * @param fix what to do when it is missing or unreadable
     * @param create the config of the parsed object and its source (may throw IllegalArgumentException)
     * @throws CheckpointException when the file is missing, is not a JSON object, or {@code create} rejects it;
     *     the message names the file and the fix
     */
    public static <C> C read(Path path, String fileName, String what, String fix,
            BiFunction<JsonObject, String, C> create) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(fileName) : path;
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": no such file" + (Files.isDirectory(path) ? " in the folder" : "")
                    + " (a " + what + " is a " + fileName + "): " + fix);
        }
        try {
            JsonObject o = parseObject(Files.readString(file, StandardCharsets.UTF_8), what, file.toString(), fix);
            return create.apply(o, file.toString());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
    }

    /** The string of a {@code _class_name} value ({@code o.get("_class_name")}), or null when it is absent or not a string. */
    public static String className(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    private static Double number(JsonElement e) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsDouble() : null;
    }

    /** At most 60 characters of an element's JSON text, for messages. */
    public static String shortText(JsonElement e) {
        String s = e.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** A double as a JSON number spelled as Python's {@code repr} writes it ({@code 0.0001}, {@code 1.0}, {@code 1e-05}). */
    public static JsonPrimitive pythonFloat(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException("a config number must be finite, got " + d);
        }
        double a = Math.abs(d);
        String text;
        if (a == 0 || (a >= 1e-4 && a < 1e16)) {
            text = new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
            if (!text.contains(".")) {
                text = text + ".0";
            }
        } else {
            String j = Double.toString(d); // Java writes 1.0E-5, Python 1e-05
            int e = j.indexOf('E');
            String mantissa = j.substring(0, e);
            if (mantissa.endsWith(".0")) {
                mantissa = mantissa.substring(0, mantissa.length() - 2);
            }
            int exp = Integer.parseInt(j.substring(e + 1));
            text = mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        return JsonParser.parseString(text).getAsJsonPrimitive(); // keeps the spelling
    }

    /** Equal when {@link #toJsonObject()} is equal. */
    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((JsonConfig<?>) o).toJsonObject().equals(toJsonObject());
    }

    @Override
    public int hashCode() {
        return toJsonObject().hashCode();
    }

    /** The config's JSON on one line. */
    @Override
    public String toString() {
        return toJsonObject().toString();
    }
}
