package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import diffusionkit.util.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte span,
 * then the raw little-endian data.
 *
 * <p>Every rule of the format is checked before any tensor is allocated: the header fits the file,
 * each dtype is known, each span lies in the data section, spans are contiguous and do not overlap, and
 * each span's length equals its shape times its dtype's size. Floating-point tensors (F16, BF16, F32,
 * F64) are returned as float32, as diffusers does when it loads them into a float32 model; integer
 * tensors keep their type.
 */
public final class Safetensors {

    /** Largest header accepted (the reference implementation's limit). */
    public static final long MAX_HEADER = 100L * 1024 * 1024;

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private Safetensors() {}

    /** One entry of the header. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        /**
         * Number of elements.
         *
         * @throws ArithmeticException when it does not fit in a long
         */
        public long numel() {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return n;
        }
    }

    /** A parsed, validated header. */
    public record Header(List<TensorInfo> tensors, Map<String, String> metadata, long dataStart) {}

    /** Reads every tensor of {@code file}, in header order. */
    public static Map<String, NDArray> read(Path file, NDManager manager) throws IOException {
        Header header = readHeader(file);
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (TensorInfo t : header.tensors()) {
                if (t.end() - t.begin() > Integer.MAX_VALUE - 16) {
                    throw new CheckpointException(file + ": tensor '" + t.name() + "' has " + (t.end() - t.begin())
                            + " bytes, more than this reader handles in one array (2 GiB). Split the checkpoint into smaller tensors.");
                }
                ByteBuffer raw = ByteBuffer.allocate((int) (t.end() - t.begin())).order(ByteOrder.LITTLE_ENDIAN);
                long pos = header.dataStart() + t.begin();
                while (raw.hasRemaining()) {
                    int n = ch.read(raw, pos + raw.position());
                    if (n < 0) {
                        throw new CheckpointException(file + ": unexpected end of file in tensor '" + t.name()
                                + "'. The file is truncated: download or save it again.");
                    }
                }
                raw.flip();
                out.put(t.name(), toArray(raw, t, manager));
            }
        }
        return out;
    }

    /** The {@code __metadata__} of {@code file} (empty when absent). */
    public static Map<String, String> metadata(Path file) throws IOException {
        return readHeader(file).metadata();
    }

    /** Reads and validates the header of {@code file} without reading tensor data. */
    public static Header readHeader(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": no such safetensors file.");
        }
        long size = Files.size(file);
        String bad = file + " is not a valid safetensors file: ";
        String fix = " Re-download or re-save the checkpoint.";
        if (size < 8) {
            throw new CheckpointException(bad + "it has " + size + " bytes, fewer than the 8-byte header length." + fix);
        }
        byte[] headerBytes;
        long headerLen;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            headerLen = lenBuf.flip().getLong();
            if (headerLen < 0 || headerLen > size - 8) {
                throw new CheckpointException(bad + "its header length " + Long.toUnsignedString(headerLen)
                        + " exceeds the file size " + size + " (truncated or not safetensors)." + fix);
            }
            if (headerLen > MAX_HEADER) {
                throw new CheckpointException(bad + "its header length " + headerLen + " exceeds " + MAX_HEADER + " bytes." + fix);
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, file);
            headerBytes = hb.array();
        }
        JsonObject json;
        try {
            JsonElement e = JsonParser.parseString(new String(headerBytes, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new CheckpointException(bad + "its header is not a JSON object." + fix);
            }
            json = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new CheckpointException(bad + "its header is not valid JSON (" + e.getMessage() + ")." + fix, e);
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonElement> en : json.entrySet()) {
            String name = en.getKey();
            if (name.equals("__metadata__")) {
                if (!en.getValue().isJsonObject()) {
                    throw new CheckpointException(bad + "its __metadata__ is not a JSON object of strings." + fix);
                }
                for (Map.Entry<String, JsonElement> m : en.getValue().getAsJsonObject().entrySet()) {
                    metadata.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
                }
                continue;
            }
            try {
                JsonObject o = en.getValue().getAsJsonObject();
                String dtype = o.get("dtype").getAsString();
                if (dtypeSize(dtype) < 0) {
                    throw new CheckpointException(bad + "tensor '" + name + "' has unknown dtype '" + dtype
                            + "' (known: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)." + fix);
                }
                var shapeJson = o.getAsJsonArray("shape");
                long[] shape = new long[shapeJson.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeJson.get(i).getAsLong();
                    if (shape[i] < 0) {
                        throw new CheckpointException(bad + "tensor '" + name + "' has a negative dimension." + fix);
                    }
                }
                var off = o.getAsJsonArray("data_offsets");
                tensors.add(new TensorInfo(name, dtype, shape, off.get(0).getAsLong(), off.get(1).getAsLong()));
            } catch (CheckpointException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new CheckpointException(bad + "the header entry of tensor '" + name
                        + "' lacks dtype, shape or data_offsets." + fix, e);
            }
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        for (TensorInfo t : byOffset) {
            String span = "tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end() + "]";
            if (t.begin() < 0 || t.end() < t.begin()) {
                throw new CheckpointException(bad + span + " are not an increasing pair of non-negative offsets." + fix);
            }
            if (t.end() > dataLen) {
                throw new CheckpointException(bad + span + " run past the end of the data section (" + dataLen
                        + " bytes; truncated file?)." + fix);
            }
            if (t.begin() != expected) {
                throw new CheckpointException(bad + span + (t.begin() < expected
                        ? " overlap the previous tensor (overlapping data_offsets; expected start " + expected + ")."
                        : " leave a hole after the previous tensor (expected start " + expected + ").") + fix);
            }
            long need;
            try {
                need = Math.multiplyExact(t.numel(), dtypeSize(t.dtype()));
            } catch (ArithmeticException e) {
                throw new CheckpointException(bad + "tensor '" + t.name() + "' has an impossibly large shape "
                        + java.util.Arrays.toString(t.shape()) + "." + fix);
            }
            if (t.end() - t.begin() != need) {
                throw new CheckpointException(bad + span + " span " + (t.end() - t.begin()) + " bytes but shape "
                        + java.util.Arrays.toString(t.shape()) + " x " + t.dtype() + " needs " + need
                        + " (the byte size does not match shape x dtype size)." + fix);
            }
            expected = t.end();
        }
        if (expected != dataLen) {
            throw new CheckpointException(bad + "its data section has " + dataLen + " bytes but the tensors cover "
                    + expected + "." + fix);
        }
        return new Header(tensors, metadata, dataStart);
    }

    /**
     * Writes {@code tensors} (in map order) to {@code file} atomically. Float arrays are written as F32,
     * integer arrays keep their type. Shapes and values are what Python's {@code safetensors.torch.load_file} reads back.
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject m = new JsonObject();
            metadata.forEach(m::addProperty);
            header.add("__metadata__", m);
        }
        List<byte[]> blobs = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            String dtype = dtypeName(a.getDataType(), e.getKey());
            NDArray contiguous = a.getDataType() == DataType.FLOAT16 || a.getDataType() == DataType.FLOAT64
                    || a.getDataType() == DataType.BFLOAT16 ? a.toType(DataType.FLOAT32, false) : a;
            if (contiguous != a) {
                dtype = "F32";
            }
            byte[] bytes = new byte[Math.toIntExact(contiguous.size() * contiguous.getDataType().getNumOfBytes())];
            contiguous.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).get(bytes);
            if (contiguous != a) {
                contiguous.close();
            }
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtype);
            var shape = new com.google.gson.JsonArray();
            for (long s : a.getShape().getShape()) {
                shape.add(s);
            }
            t.add("shape", shape);
            var off = new com.google.gson.JsonArray();
            off.add(offset);
            off.add(offset + bytes.length);
            t.add("data_offsets", off);
            header.add(e.getKey(), t);
            blobs.add(bytes);
            offset += bytes.length;
        }
        byte[] h = GSON.toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        byte[] hp = new byte[padded];
        java.util.Arrays.fill(hp, (byte) ' ');
        System.arraycopy(h, 0, hp, 0, h.length);
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(hp);
            for (byte[] b : blobs) {
                out.write(b);
            }
        });
    }

    /** Bytes per element of a safetensors dtype, or -1 when unknown. */
    static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    private static String dtypeName(DataType t, String name) throws CheckpointException {
        return switch (t) {
            case FLOAT32 -> "F32";
            case FLOAT16 -> "F16";
            case FLOAT64 -> "F64";
            case BFLOAT16 -> "BF16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOLEAN -> "BOOL";
            default -> throw new CheckpointException("cannot write tensor '" + name + "' of type " + t + " to safetensors.");
        };
    }

    private static NDArray toArray(ByteBuffer raw, TensorInfo t, NDManager manager) {
        Shape shape = new Shape(t.shape());
        int n = Math.toIntExact(t.numel());
        switch (t.dtype()) {
            case "F32":
                return manager.create(raw, shape, DataType.FLOAT32);
            case "F16": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Half.toFloat(raw.getShort());
                }
                return manager.create(f, shape);
            }
            case "BF16": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Float.intBitsToFloat((raw.getShort() & 0xFFFF) << 16);
                }
                return manager.create(f, shape);
            }
            case "F64": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) raw.getDouble();
                }
                return manager.create(f, shape);
            }
            case "I64":
                return manager.create(raw, shape, DataType.INT64);
            case "I32":
                return manager.create(raw, shape, DataType.INT32);
            case "I8":
                return manager.create(raw, shape, DataType.INT8);
            case "U8":
                return manager.create(raw, shape, DataType.UINT8);
            case "BOOL":
                return manager.create(raw, shape, DataType.BOOLEAN);
            case "I16", "U16", "U32", "U64": {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (t.dtype()) {
                        case "I16" -> raw.getShort();
                        case "U16" -> raw.getShort() & 0xFFFF;
                        case "U32" -> raw.getInt() & 0xFFFFFFFFL;
                        default -> raw.getLong();
                    };
                }
                return manager.create(v, shape);
            }
            default:
                throw new IllegalStateException("unreachable: dtype " + t.dtype());
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new CheckpointException(file + ": unexpected end of file (it changed while being read?). Read it again.");
            }
        }
    }
}
