package diffusionkit.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import diffusionkit.io.Safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The diffusers v0.31 scheduler reference vectors copied into the test resources. */
final class Vectors {

    private Vectors() {}

    static Path resource(String name) {
        try {
            return Path.of(Vectors.class.getResource("/vectors/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test resource vectors/" + name + " is missing", e);
        }
    }

    static JsonObject json() {
        try {
            return JsonParser.parseString(Files.readString(resource("schedulers.json"))).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonObject cases() {
        return json().getAsJsonObject("cases");
    }

    static Map<String, NDArray> tensors(NDManager manager) {
        try {
            return Safetensors.read(resource("schedulers.safetensors"), manager);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A config object without diffusers' bookkeeping keys (_class_name, _diffusers_version, _use_default_values). */
    static JsonObject withoutPrivateKeys(JsonObject o) {
        JsonObject out = new JsonObject();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            if (!e.getKey().startsWith("_")) {
                out.add(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (!(d <= m)) {
                m = Float.isNaN(d) ? Float.NaN : d;
                if (Float.isNaN(d)) {
                    return d;
                }
            }
        }
        return m;
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        if (!a.getShape().equals(b.getShape())) {
            throw new AssertionError("shapes differ: " + a.getShape() + " vs " + b.getShape());
        }
        return maxAbsDiff(a.toFloatArray(), b.toFloatArray());
    }
}
