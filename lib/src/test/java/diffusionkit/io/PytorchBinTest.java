package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PytorchBin} against the torch.save twins of the safetensors reference weights, and hand-built pickles. */
class PytorchBinTest {

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** Every .bin of bin_twins/index.json equals its safetensors twin: same names, dtypes, shapes, bits. */
    @ParameterizedTest
    @ValueSource(strings = {"unet_a", "unet_b", "unet_a_legacy_attn_names"})
    void binTwinEqualsSafetensors(String folder) throws IOException {
        JsonObject entry = TestVectors.json("bin_twins/index.json").getAsJsonObject("folders").getAsJsonObject(folder);
        Path bin = TestVectors.path("bin_twins/" + folder + "/" + entry.get("weights").getAsString());
        Path twin = TestVectors.path("bin_twins/" + entry.get("twin_of").getAsString());
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> fromBin = PytorchBin.read(bin, m);
            Map<String, NDArray> fromSafetensors = Safetensors.read(twin, m);
            assertEquals(entry.get("n_tensors").getAsInt(), fromBin.size());
            TestVectors.assertSameTensors(fromSafetensors, fromBin);
            fromBin.values().forEach(a -> assertEquals(DataType.FLOAT32, a.getDataType()));
        }
    }

    /** The pickle order is diffusers' state_dict order (state_dict_keys.txt). */
    @ParameterizedTest
    @ValueSource(strings = {"unet_a", "unet_b"})
    void keepsStateDictOrder(String folder) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> fromBin = PytorchBin.read(TestVectors.path("bin_twins/" + folder + "/diffusion_pytorch_model.bin"), m);
            assertEquals(TestVectors.stateDictKeys(folder), new ArrayList<>(fromBin.keySet()));
        }
    }

    /**
     * The float16 .bin upcasts exactly: it equals the float16 safetensors variant, and both equal unet_a's float32
     * weights rounded to float16 (round to nearest even), computed here independently of the reader.
     */
    @Test
    void float16BinEqualsRoundedFloat32() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> fromBin = PytorchBin.read(TestVectors.path("bin_twins/unet_a_fp16_bin/diffusion_pytorch_model.bin"), m);
            Map<String, NDArray> fp16 = Safetensors.read(TestVectors.path("bin_twins/unet_a_fp16/diffusion_pytorch_model.safetensors"), m);
            Map<String, NDArray> f32 = Safetensors.read(TestVectors.path("unet_a/diffusion_pytorch_model.safetensors"), m);
            TestVectors.assertSameTensors(fp16, fromBin);
            assertEquals(TestVectors.stateDictKeys("unet_a"), new ArrayList<>(fromBin.keySet()));
            for (Map.Entry<String, NDArray> e : f32.entrySet()) {
                float[] x = e.getValue().toFloatArray();
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    expected[i] = roundToHalf(x[i]);
                }
                TestVectors.assertFloatsBitEqual(expected, fromBin.get(e.getKey()).toFloatArray(), e.getKey());
            }
        }
    }

    /** The bfloat16 safetensors variant equals unet_a's float32 weights rounded to bfloat16 (nearest even). */
    @Test
    void bfloat16SafetensorsEqualsRoundedFloat32() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> bf16 = Safetensors.read(TestVectors.path("bin_twins/unet_a_bf16/diffusion_pytorch_model.safetensors"), m);
            Map<String, NDArray> f32 = Safetensors.read(TestVectors.path("unet_a/diffusion_pytorch_model.safetensors"), m);
            assertEquals(f32.keySet(), bf16.keySet());
            for (Map.Entry<String, NDArray> e : f32.entrySet()) {
                float[] x = e.getValue().toFloatArray();
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    int bits = Float.floatToRawIntBits(x[i]);
                    expected[i] = Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
                }
                TestVectors.assertFloatsBitEqual(expected, bf16.get(e.getKey()).toFloatArray(), e.getKey());
            }
        }
    }

    /** legacy_format.bin (torch.save before 1.6, not a zip) is supported: it equals its expected safetensors. */
    @Test
    void legacyFormatIsSupported() throws IOException {
        Path legacy = TestVectors.path("bad_checkpoints/legacy_format.bin");
        assertEquals(PytorchBin.Format.LEGACY, PytorchBin.detect(legacy));
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> got = PytorchBin.read(legacy, m);
            Map<String, NDArray> expected = Safetensors.read(TestVectors.path("bad_checkpoints/legacy_format.expected.safetensors"), m);
            TestVectors.assertSameTensors(expected, got);
            assertEquals(List.of("conv_in.weight", "conv_in.bias", "time_proj.weight", "time_proj.bias"), new ArrayList<>(got.keySet()));
        }
    }

    /** Offsets, non-contiguous strides, scalars, empty tensors, shared storages, _rebuild_parameter and every dtype. */
    @Test
    void rebuildsViewsAndDtypes(@TempDir Path dir) throws IOException {
        ByteBuffer floats = le(24 * 4);
        for (int i = 0; i < 24; i++) {
            floats.putFloat(i);
        }
        ByteBuffer longs = le(3 * 8).putLong(-1).putLong(1L << 40).putLong(7);
        ByteBuffer halves = le(4).putShort((short) 0x3C00).putShort((short) 0x0001);
        ByteBuffer bf16 = le(2).putShort((short) 0x4049);
        ByteBuffer ints = le(4).putInt(5);
        ByteBuffer doubles = le(8).putDouble(0.1);

        Pickle p = new Pickle().proto().emptyDict().mark();
        p.str("t").tensor("FloatStorage", "0", 24, 0, new int[] {6, 4}, new int[] {1, 6});
        p.str("slice").tensor("FloatStorage", "0", 24, 5, new int[] {3}, new int[] {2});
        p.str("scalar").tensor("FloatStorage", "0", 24, 23, new int[] {}, new int[] {});
        p.str("param").global("torch._utils", "_rebuild_parameter").mark()
                .tensor("FloatStorage", "0", 24, 0, new int[] {2, 3}, new int[] {3, 1}).newFalse().orderedDict().tuple().reduce();
        p.str("empty").tensor("FloatStorage", "0", 24, 0, new int[] {0, 3}, new int[] {3, 1});
        p.str("ids").tensor("LongStorage", "1", 3, 0, new int[] {3}, new int[] {1});
        p.str("h").tensor("HalfStorage", "2", 2, 0, new int[] {2}, new int[] {1});
        p.str("b").tensor("BFloat16Storage", "3", 1, 0, new int[] {1}, new int[] {1});
        p.str("i").tensor("IntStorage", "4", 1, 0, new int[] {}, new int[] {});
        p.str("d").tensor("DoubleStorage", "5", 1, 0, new int[] {1}, new int[] {1});
        p.setItems().stop();
        Path file = zip(dir.resolve("views.bin"), p.bytes(), Map.of("0", floats, "1", longs, "2", halves, "3", bf16, "4", ints, "5", doubles));

        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> got = PytorchBin.read(file, m);
            assertEquals(List.of("t", "slice", "scalar", "param", "empty", "ids", "h", "b", "i", "d"), new ArrayList<>(got.keySet()));
            float[] t = new float[24];
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 4; j++) {
                    t[i * 4 + j] = j * 6 + i; // the transpose of arange(24).view(4, 6)
                }
            }
            assertEquals(new Shape(6, 4), got.get("t").getShape());
            assertArrayEquals(t, got.get("t").toFloatArray());
            assertArrayEquals(new float[] {5, 7, 9}, got.get("slice").toFloatArray());
            assertEquals(new Shape(), got.get("scalar").getShape());
            assertEquals(23f, got.get("scalar").getFloat());
            assertEquals(new Shape(2, 3), got.get("param").getShape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, got.get("param").toFloatArray());
            assertEquals(new Shape(0, 3), got.get("empty").getShape());
            assertEquals(DataType.INT64, got.get("ids").getDataType());
            assertArrayEquals(new long[] {-1, 1L << 40, 7}, got.get("ids").toLongArray());
            assertEquals(DataType.FLOAT32, got.get("h").getDataType());
            assertArrayEquals(new float[] {1f, 0x1p-24f}, got.get("h").toFloatArray());
            assertArrayEquals(new float[] {3.140625f}, got.get("b").toFloatArray()); // 0x4049 = 1.5703125 * 2
            assertEquals(DataType.INT32, got.get("i").getDataType());
            assertEquals(5, got.get("i").getInt());
            assertArrayEquals(new float[] {0.1f}, got.get("d").toFloatArray());
        }
    }

    @Test
    void refusesViewOutsideItsStorage(@TempDir Path dir) throws IOException {
        Pickle p = new Pickle().proto().emptyDict().mark();
        p.str("w").tensor("FloatStorage", "0", 4, 1, new int[] {2, 2}, new int[] {2, 1});
        p.setItems().stop();
        Path file = zip(dir.resolve("oob.bin"), p.bytes(), Map.of("0", le(16)));
        CheckpointException e = assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager));
        assertContains(e, file.toString(), "reaches outside its storage");
    }

    @Test
    void refusesStorageOfTheWrongSize(@TempDir Path dir) throws IOException {
        Pickle p = new Pickle().proto().emptyDict().mark();
        p.str("w").tensor("FloatStorage", "0", 6, 0, new int[] {6}, new int[] {1});
        p.setItems().stop();
        Path file = zip(dir.resolve("short.bin"), p.bytes(), Map.of("0", le(20)));
        CheckpointException e = assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager));
        assertContains(e, file.toString(), "data/0 has 20 bytes", "6 elements");
    }

    @Test
    void refusesTopLevelThatIsNotADictOfTensors(@TempDir Path dir) throws IOException {
        Pickle tuple = new Pickle().proto().mark().str("a").tuple().stop();
        Path f1 = zip(dir.resolve("tuple.bin"), tuple.bytes(), Map.of());
        assertContains(assertThrows(CheckpointException.class, () -> PytorchBin.read(f1, manager)),
                f1.toString(), "top-level object is a tuple", "state_dict()");

        Pickle step = new Pickle().proto().emptyDict().mark().str("step").intv(1000).setItems().stop();
        Path f2 = zip(dir.resolve("step.bin"), step.bytes(), Map.of());
        assertContains(assertThrows(CheckpointException.class, () -> PytorchBin.read(f2, manager)),
                f2.toString(), "entry 'step' is a Integer, not a tensor");
    }

    /** GLOBAL, STACK_GLOBAL and INST of a function are refused as read, even one registered with razorvine. */
    @Test
    void refusesDisallowedGlobalsInEveryForm(@TempDir Path dir) throws IOException {
        int[] calls = {0};
        net.razorvine.pickle.Unpickler.registerConstructor("posix", "system", args -> {
            calls[0]++;
            return 0;
        });
        Pickle global = new Pickle().proto().global("posix", "system").mark().str("true").tuple().reduce().stop();
        Pickle stackGlobal = new Pickle().proto().str("posix").str("system").op(0x93).mark().str("true").tuple().reduce().stop();
        Pickle inst = new Pickle().proto().mark().str("true").op('i').ascii("posix\nsystem\n").stop();
        int i = 0;
        for (Pickle p : List.of(global, stackGlobal, inst)) {
            Path file = zip(dir.resolve("evil" + i++ + ".bin"), p.bytes(), Map.of());
            CheckpointException e = assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager));
            assertContains(e, file.toString(), "disallowed global posix.system", "only tensor-rebuild globals are allowed");
        }
        assertEquals(0, calls[0], "the registered constructor must never be called");
    }

    /** A length prefix larger than the pickle is refused before anything that size is allocated. */
    @Test
    void refusesHugeLengthsBeforeAllocating(@TempDir Path dir) throws IOException {
        Pickle p = new Pickle().proto().op('X').int32(0x7FFFFFF0).stop();
        Path file = zip(dir.resolve("huge.bin"), p.bytes(), Map.of());
        CheckpointException e = assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager));
        assertContains(e, file.toString(), "2147483632 bytes where only");
    }

    @Test
    void refusesFilesThatAreNoTorchCheckpoint(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("notes.bin"), "hello, these are not weights");
        assertContains(assertThrows(CheckpointException.class, () -> PytorchBin.read(text, manager)),
                text.toString(), "not a PyTorch checkpoint");
    }

    /** float32 to the nearest float16 (ties to even), for the magnitudes of model weights (no overflow). */
    static float roundToHalf(float x) {
        if (x == 0f) {
            return x;
        }
        int e = Math.max(Math.getExponent(x), -14); // float16: 10 mantissa bits, smallest normal exponent -14
        double quantum = Math.scalb(1.0, e - 10);
        return (float) (Math.rint(x / quantum) * quantum);
    }

    static void assertContains(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A torch.save-style zip: archive/data.pkl, archive/data/KEY, archive/version. */
    static Path zip(Path file, byte[] pkl, Map<String, ByteBuffer> storages) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pkl);
            z.closeEntry();
            for (Map.Entry<String, ByteBuffer> s : storages.entrySet()) {
                z.putNextEntry(new ZipEntry("archive/data/" + s.getKey()));
                z.write(s.getValue().array());
                z.closeEntry();
            }
            z.putNextEntry(new ZipEntry("archive/version"));
            z.write("3\n".getBytes(StandardCharsets.US_ASCII));
            z.closeEntry();
        }
        return file;
    }

    /** Writes protocol-2 pickle opcodes by hand, as torch.save emits them for a state dict. */
    static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int code) {
            out.write(code);
            return this;
        }

        Pickle ascii(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle int32(int v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        Pickle proto() {
            return op(0x80).op(2);
        }

        Pickle global(String module, String name) {
            return op('c').ascii(module + "\n" + name + "\n");
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X').int32(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickle intv(int v) {
            return op('J').int32(v);
        }

        Pickle mark() {
            return op('(');
        }

        Pickle tuple() {
            return op('t');
        }

        Pickle reduce() {
            return op('R');
        }

        Pickle emptyDict() {
            return op('}');
        }

        Pickle setItems() {
            return op('u');
        }

        Pickle newFalse() {
            return op(0x89);
        }

        Pickle stop() {
            return op('.');
        }

        Pickle orderedDict() {
            return global("collections", "OrderedDict").op(')').reduce();
        }

        Pickle ints(int[] v) {
            mark();
            for (int x : v) {
                intv(x);
            }
            return tuple();
        }

        /** {@code _rebuild_tensor_v2(persistent_id(('storage', torch.TYPE, key, 'cpu', numel)), offset, size, stride, False, OrderedDict())}. */
        Pickle tensor(String type, String key, int numel, int offset, int[] size, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").mark();
            mark().str("storage").global("torch", type).str(key).str("cpu").intv(numel).tuple().op('Q');
            intv(offset).ints(size).ints(stride).newFalse().orderedDict();
            return tuple().reduce();
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
