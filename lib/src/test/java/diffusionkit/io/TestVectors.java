package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference vectors copied from diffusers/transformers into {@code src/test/resources/vectors}. */
final class TestVectors {

    private TestVectors() {}

    /** A file or folder under {@code vectors/}. */
    static Path path(String relative) {
        URL url = TestVectors.class.getResource("/vectors/" + relative);
        assertNotNull(url, "missing test resource vectors/" + relative);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonObject json(String relative) throws IOException {
        return JsonParser.parseString(Files.readString(path(relative))).getAsJsonObject();
    }

    /** The names of {@code state_dict_keys.txt} (first column), i.e. diffusers' state_dict order. */
    static List<String> stateDictKeys(String folder) throws IOException {
        List<String> keys = new ArrayList<>();
        for (String line : Files.readAllLines(path(folder + "/state_dict_keys.txt"))) {
            if (!line.isBlank()) {
                keys.add(line.split("\t")[0]);
            }
        }
        return keys;
    }

    /** Same names, dtypes, shapes and bit-identical data. */
    static void assertSameTensors(Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(expected.keySet(), actual.keySet(), "tensor names");
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            NDArray a = actual.get(e.getKey());
            NDArray x = e.getValue();
            assertEquals(x.getDataType(), a.getDataType(), e.getKey() + " dtype");
            assertEquals(x.getShape(), a.getShape(), e.getKey() + " shape");
            assertTrue(x.toByteBuffer().equals(a.toByteBuffer()), e.getKey() + " values are not bit-identical");
        }
    }

    static void assertFloatsBitEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        int[] x = new int[expected.length];
        int[] a = new int[actual.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.floatToRawIntBits(expected[i]);
            a[i] = Float.floatToRawIntBits(actual[i]);
        }
        assertArrayEquals(x, a, what);
    }
}
