package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Safetensors}: the reference files read as the format specifies, and write -> read round trips. */
class SafetensorsTest {

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** The diffusers file reads with the shapes state_dict_keys.txt lists (name, shape, dtype per line). */
    @Test
    void readsDiffusersFileWithStateDictShapes() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> t = Safetensors.read(TestVectors.path("unet_a/diffusion_pytorch_model.safetensors"), m);
            List<String> lines = Files.readAllLines(TestVectors.path("unet_a/state_dict_keys.txt"));
            assertEquals(lines.size(), t.size());
            for (String line : lines) {
                String[] cols = line.split("\t");
                String shape = cols[1].replace("[", "(").replace("]", ")");
                assertEquals(shape, t.get(cols[0]).getShape().toString(), cols[0]);
                assertEquals("float32", cols[2]);
                assertEquals(DataType.FLOAT32, t.get(cols[0]).getDataType());
            }
        }
    }

    /** float32 and int64 (and a scalar, an empty tensor, metadata) come back identical. */
    @Test
    void writeReadRoundTrip(@TempDir Path dir) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> in = new LinkedHashMap<>();
            in.put("weight", m.create(new float[] {1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, 3e-8f, -7f}, new Shape(2, 3)));
            in.put("steps", m.create(new long[] {-1, 0, 1L << 62}));
            in.put("scalar", m.create(0.25f));
            in.put("empty", m.create(new float[0], new Shape(0, 4)));
            in.put("ids32", m.create(new int[] {7, -8}));
            Map<String, String> meta = Map.of("format", "pt", "note", "ünïcode \"quoted\"");
            Path file = dir.resolve("out.safetensors");
            Safetensors.write(file, in, meta);

            Safetensors.Header h = Safetensors.readHeader(file); // the reader's validation accepts it
            assertEquals(List.of("weight", "steps", "scalar", "empty", "ids32"),
                    h.tensors().stream().map(Safetensors.TensorInfo::name).toList());
            assertEquals(meta, Safetensors.metadata(file));
            Map<String, NDArray> out = Safetensors.read(file, m);
            TestVectors.assertSameTensors(in, out);
            assertEquals(new ArrayList<>(in.keySet()), new ArrayList<>(out.keySet()));
            assertArrayEquals(new long[] {-1, 0, 1L << 62}, out.get("steps").toLongArray());
        }
    }

    /** The header is what the format specifies: u64 LE length, then JSON with dtype / shape / data_offsets / __metadata__. */
    @Test
    void writtenHeaderFollowsTheFormat(@TempDir Path dir) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> in = new LinkedHashMap<>();
            in.put("a", m.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3)));
            in.put("b", m.create(new long[] {9, 10}));
            Path file = dir.resolve("h.safetensors");
            Safetensors.write(file, in, Map.of("format", "pt"));

            byte[] bytes = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, n % 8, "the header is padded to 8 bytes");
            String json = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(json.stripTrailing().endsWith("}"), "padding is trailing spaces");
            JsonObject h = JsonParser.parseString(json).getAsJsonObject();
            assertEquals("pt", h.getAsJsonObject("__metadata__").get("format").getAsString());
            JsonObject a = h.getAsJsonObject("a");
            assertEquals("F32", a.get("dtype").getAsString());
            assertEquals(ints(2, 3), a.getAsJsonArray("shape"));
            assertEquals(ints(0, 24), a.getAsJsonArray("data_offsets"));
            JsonObject b = h.getAsJsonObject("b");
            assertEquals("I64", b.get("dtype").getAsString());
            assertEquals(ints(2), b.getAsJsonArray("shape"));
            assertEquals(ints(24, 40), b.getAsJsonArray("data_offsets"));
            assertEquals(8 + n + 40, bytes.length, "data section = the tensors, nothing else");
            ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + n), 40).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 1; i <= 6; i++) {
                assertEquals(i, data.getFloat());
            }
            assertEquals(9, data.getLong());
            assertEquals(10, data.getLong());
        }
    }

    /** float16 / float64 arrays are written as F32 (exactly for float16) and read back as float32. */
    @Test
    void writesReducedAndDoublePrecisionAsFloat32(@TempDir Path dir) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> in = new LinkedHashMap<>();
            in.put("h", m.create(new float[] {1f, 0.5f, -2f}).toType(DataType.FLOAT16, false));
            in.put("d", m.create(new double[] {0.1, 2}));
            Path file = dir.resolve("f.safetensors");
            Safetensors.write(file, in, null);
            assertFalse(Safetensors.readHeader(file).tensors().stream().anyMatch(t -> !t.dtype().equals("F32")));
            Map<String, NDArray> out = Safetensors.read(file, m);
            assertArrayEquals(new float[] {1f, 0.5f, -2f}, out.get("h").toFloatArray());
            assertArrayEquals(new float[] {0.1f, 2f}, out.get("d").toFloatArray());
            assertTrue(Safetensors.metadata(file).isEmpty());
        }
    }

    private static JsonArray ints(long... v) {
        JsonArray a = new JsonArray();
        for (long x : v) {
            a.add(x);
        }
        return a;
    }
}
