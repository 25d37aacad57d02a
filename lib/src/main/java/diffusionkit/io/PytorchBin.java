package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a PyTorch {@code .bin} / {@code .pt} state dict written by {@code torch.save}, in pure Java and
 * without executing anything from the file.
 *
 * <p>Two layouts are read:
 * <ul>
 *   <li>the zip format of torch &gt;= 1.6: {@code <stem>/data.pkl} (the pickle) and {@code <stem>/data/<key>}
 *       (raw little-endian bytes of each storage);</li>
 *   <li>the legacy format of {@code torch.save(..., _use_new_zipfile_serialization=False)} (torch &lt; 1.6):
 *       five consecutive pickles (magic number, protocol version, system info, the state dict, the storage keys)
 *       followed by each storage as an int64 element count and its raw little-endian bytes.</li>
 * </ul>
 *
 * <p>The pickle is read by an allow-listing unpickler: only {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter} and the {@code torch.*Storage}
 * types (also {@code torch.cuda.*Storage} of old GPU checkpoints, read to the CPU) may appear. Any other global (or an opcode that could create an arbitrary object) is refused at the moment
 * it is read, before any REDUCE, with an error that names the file and the global; the same holds for
 * {@code torch.load(weights_only=True)}. The top-level object must be a dict of name to tensor. Every storage is
 * checked (present, of the declared size) before tensor data is read, and every size read from the file is checked
 * against the file before anything is allocated.
 *
 * <p>Tensors are rebuilt honouring the storage offset and strides. Floating-point tensors (float16, bfloat16,
 * float32, float64) are returned as float32 (fp16 and bf16 exactly), as diffusers does when it loads them into a
 * float32 model; int64, int32, int8, uint8 and bool keep their type; int16 becomes int64 (as in {@link Safetensors}).
 */
public final class PytorchBin {

    /** Largest {@code data.pkl} accepted; the pickle of a state dict with 10^5 tensors is a few MiB. */
    public static final long MAX_PICKLE = 512L * 1024 * 1024;

    /** Largest single storage this reader handles (Java arrays are int-indexed). */
    public static final long MAX_STORAGE_BYTES = Integer.MAX_VALUE - 16;

    /** The magic number that starts the legacy (non-zip) torch.save format. */
    private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    private static final String REPAIR = "Re-save it in Python: torch.save(torch.load(f, weights_only=True), f) with torch >= 1.6, "
            + "or better safetensors.torch.save_file(torch.load(f, weights_only=True), 'diffusion_pytorch_model.safetensors').";

    private PytorchBin() {}

    /** The on-disk layout of a torch.save file. */
    public enum Format {
        /** The zip layout of torch &gt;= 1.6 (the default of torch.save). */
        ZIP,
        /** The pre-1.6 layout: consecutive pickles then raw storages. */
        LEGACY
    }

    /** The globals a state dict pickle may reference (every {@code torch.*Storage} type is also allowed). */
    public static String allowedGlobals() {
        return "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage";
    }

    /**
     * Reads every tensor of the state dict in {@code file}, in pickle order.
     *
     * @param file a {@code torch.save} file ({@code diffusion_pytorch_model.bin}, {@code pytorch_model.bin}, ...)
     * @param manager where the arrays are created
     * @return name to tensor, in the order of the file
     * @throws CheckpointException when the file is not a plain, complete state dict; the message names the file,
     *     the problem and the fix
     */
    public static Map<String, NDArray> read(Path file, NDManager manager) throws IOException {
        return switch (detect(file)) {
            case ZIP -> readZip(file, manager);
            case LEGACY -> readLegacy(file, manager);
        };
    }

    /**
     * Tells the zip layout from the legacy one by the first bytes of {@code file}.
     *
     * @throws CheckpointException when it is neither
     */
    public static Format detect(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": no such PyTorch checkpoint file.");
        }
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(4);
        }
        if (head.length == 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5) && (head[3] == 4 || head[3] == 6)) {
            return Format.ZIP;
        }
        if (head.length == 4 && (head[0] & 0xFF) == 0x80 && head[1] == 2 && (head[2] & 0xFF) == 0x8a && head[3] == 10) {
            return Format.LEGACY;
        }
        throw new CheckpointException(file + " is not a PyTorch checkpoint: it is neither a torch.save zip (which starts with 'PK') "
                + "nor the legacy torch.save format. If it is a safetensors file, give it the .safetensors extension; "
                + "otherwise download or save it again.");
    }

    // ------------------------------------------------------------------ zip layout

    private static Map<String, NDArray> readZip(Path file, NDManager manager) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new CheckpointException(file + " is truncated or not a valid zip (no end-of-central-directory record could be "
                    + "read: " + e.getMessage() + "). A torch.save file is a zip whose directory sits at its end, so the file "
                    + "was probably cut short: download or save it again.", e);
        }
        try (zip) {
            String prefix = findPrefix(zip, file);
            ZipEntry byteorder = zip.getEntry(prefix + "byteorder");
            if (byteorder != null) {
                byte[] b = readEntry(zip, byteorder, 16, file);
                if (!new String(b, StandardCharsets.US_ASCII).strip().equals("little")) {
                    throw new CheckpointException(file + ": the storages are stored big-endian (record " + prefix
                            + "byteorder); only little-endian checkpoints are supported. " + REPAIR);
                }
            }
            ZipEntry pklEntry = zip.getEntry(prefix + "data.pkl");
            byte[] pkl = readEntry(zip, pklEntry, MAX_PICKLE, file);
            String source = file + " (" + prefix + "data.pkl)";
            Map<String, StorageRef> storages = new HashMap<>();
            RestrictedUnpickler unpickler = new RestrictedUnpickler(source, (pid, pos) -> {
                StorageRef ref = storageRef(pid, 5, source, storages);
                ZipEntry e = zip.getEntry(prefix + "data/" + ref.key());
                if (e == null) {
                    throw new CheckpointException(file + ": storage record data/" + ref.key() + " not found (no zip record "
                            + prefix + "data/" + ref.key() + ", referenced by data.pkl at byte " + pos + "). The checkpoint is "
                            + "incomplete: download or save it again.");
                }
                if (e.getSize() != ref.nbytes()) {
                    throw new CheckpointException(file + ": storage record data/" + ref.key() + " has " + e.getSize()
                            + " bytes but data.pkl declares " + ref.numel() + " elements of " + ref.type().pythonName()
                            + " (" + ref.nbytes() + " bytes). The checkpoint is corrupt: download or save it again.");
                }
                return ref;
            });
            Object top = unpickler.loadFrom(new RestrictedUnpickler.CountingInput(new ByteArrayInputStream(pkl), pkl.length));
            Map<String, TensorRef> tensors = checkTopLevel(top, file);
            return build(tensors, manager, file,
                    ref -> readEntry(zip, zip.getEntry(prefix + "data/" + ref.key()), MAX_STORAGE_BYTES, file));
        }
    }

    /** The {@code <stem>/} folder of the archive (torch names it after the file it first saved). */
    private static String findPrefix(ZipFile zip, Path file) throws CheckpointException {
        List<String> pkls = new ArrayList<>();
        Enumeration<? extends ZipEntry> entries = zip.entries();
        while (entries.hasMoreElements()) {
            String name = entries.nextElement().getName();
            int slash = name.indexOf('/');
            if (slash > 0 && name.indexOf('/', slash + 1) < 0 && name.endsWith("/data.pkl")) {
                pkls.add(name);
            }
        }
        if (pkls.size() != 1) {
            throw new CheckpointException(file + " is a zip but not a torch.save checkpoint: expected exactly one "
                    + "<stem>/data.pkl record, found " + (pkls.isEmpty() ? "none" : pkls) + ". Save the weights with "
                    + "torch.save(model.state_dict(), f) or, better, with safetensors.");
        }
        return pkls.get(0).substring(0, pkls.get(0).length() - "data.pkl".length());
    }

    private static byte[] readEntry(ZipFile zip, ZipEntry e, long max, Path file) throws IOException {
        long size = e.getSize();
        if (size < 0 || size > max) {
            throw new CheckpointException(file + ": zip record " + e.getName() + " declares " + size + " bytes (limit " + max
                    + "). The file is corrupt, or too large for this reader: convert it to (sharded) safetensors.");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) size);
            if (b.length != size) {
                throw new CheckpointException(file + ": zip record " + e.getName() + " is cut short (" + b.length + " of "
                        + size + " bytes). The file is truncated: download or save it again.");
            }
            return b;
        } catch (ZipException ex) {
            throw new CheckpointException(file + ": zip record " + e.getName() + " cannot be read (" + ex.getMessage()
                    + "). The file is corrupt: download or save it again.", ex);
        }
    }

    // ------------------------------------------------------------------ legacy layout

    private static Map<String, NDArray> readLegacy(Path file, NDManager manager) throws IOException {
        long size = Files.size(file);
        String source = file + " (legacy torch.save format)";
        try (RestrictedUnpickler.CountingInput in = new RestrictedUnpickler.CountingInput(
                new BufferedInputStream(Files.newInputStream(file), 1 << 16), size)) {
            RestrictedUnpickler plain = new RestrictedUnpickler(source, null);
            Object magic = plain.loadFrom(in);
            if (!(magic instanceof BigInteger) || !magic.equals(LEGACY_MAGIC)) {
                throw new CheckpointException(file + " is not a torch.save file: it is a pickle without torch's magic number. "
                        + REPAIR);
            }
            long protocol = RestrictedUnpickler.toLong(plain.loadFrom(in), "the protocol version", source);
            if (protocol != 1001) {
                throw new CheckpointException(file + ": legacy torch.save protocol version " + protocol
                        + " is not supported (only 1001). " + REPAIR);
            }
            Object sysInfo = plain.loadFrom(in);
            if (!(sysInfo instanceof Map) || !Boolean.TRUE.equals(((Map<?, ?>) sysInfo).get("little_endian"))) {
                throw new CheckpointException(file + ": the legacy torch.save system info does not say little_endian=True; "
                        + "only little-endian checkpoints are supported. " + REPAIR);
            }
            Map<String, StorageRef> storages = new LinkedHashMap<>();
            RestrictedUnpickler main = new RestrictedUnpickler(source, (pid, pos) -> storageRef(pid, 6, source, storages));
            Map<String, TensorRef> tensors = checkTopLevel(main.loadFrom(in), file);
            List<Object> keys = RestrictedUnpickler.asList(plain.loadFrom(in));
            if (keys == null) {
                throw new CheckpointException(file + ": the legacy storage key list is missing or not a list. " + REPAIR);
            }
            Map<String, byte[]> data = new HashMap<>();
            for (Object k : keys) {
                StorageRef ref = k instanceof String ? storages.get(k) : null;
                if (ref == null || data.containsKey(k)) {
                    throw new CheckpointException(file + ": the legacy storage list names " + k
                            + ", which the state dict does not reference (or names twice). The file is corrupt. " + REPAIR);
                }
                byte[] count = in.readNBytes(8);
                long numel = count.length == 8 ? ByteBuffer.wrap(count).order(ByteOrder.LITTLE_ENDIAN).getLong() : -1;
                if (numel != ref.numel()) {
                    throw new CheckpointException(file + ": legacy storage " + k + " holds " + numel + " elements but the state "
                            + "dict declares " + ref.numel() + " (or the file ends early). The file is corrupt or truncated. " + REPAIR);
                }
                if (ref.nbytes() > in.remaining()) {
                    throw new CheckpointException(file + ": legacy storage " + k + " needs " + ref.nbytes() + " bytes but only "
                            + in.remaining() + " are left: the file is truncated. Download or save it again.");
                }
                byte[] b = in.readNBytes((int) ref.nbytes());
                if (b.length != ref.nbytes()) {
                    throw new CheckpointException(file + ": legacy storage " + k + " is cut short: the file is truncated.");
                }
                data.put((String) k, b);
            }
            for (String k : storages.keySet()) {
                if (!data.containsKey(k)) {
                    throw new CheckpointException(file + ": storage " + k + " is referenced by the state dict but its data is "
                            + "missing. The file is corrupt. " + REPAIR);
                }
            }
            return build(tensors, manager, file, ref -> data.get(ref.key()));
        }
    }

    // ------------------------------------------------------------------ shared

    /** Validates a persistent id {@code ('storage', torch.XStorage, key, location, numel[, view_metadata])}. */
    private static StorageRef storageRef(Object[] pid, int length, String source, Map<String, StorageRef> seen)
            throws CheckpointException {
        String bad = source + ": invalid storage id " + Arrays.deepToString(pid) + ": ";
        String fix = " This is not a plain PyTorch state dict (or the file is corrupt).";
        if (pid.length != length || !"storage".equals(pid[0])) {
            throw new CheckpointException(bad + "expected ('storage', torch.<type>Storage, key, location, numel"
                    + (length == 6 ? ", None)" : ")") + "." + fix);
        }
        if (!(pid[1] instanceof StorageType)) {
            throw new CheckpointException(bad + "the storage type is a " + RestrictedUnpickler.typeName(pid[1]) + "." + fix);
        }
        if (!(pid[2] instanceof String) || !(pid[3] instanceof String)) {
            throw new CheckpointException(bad + "the key and the location must be strings." + fix);
        }
        if (length == 6 && pid[5] != null) {
            throw new CheckpointException(bad + "storage views (view_metadata) of very old torch versions are not supported. "
                    + REPAIR);
        }
        StorageType type = (StorageType) pid[1];
        long numel = RestrictedUnpickler.toLong(pid[4], "the storage size", source);
        long nbytes;
        try {
            nbytes = Math.multiplyExact(numel, (long) type.size);
        } catch (ArithmeticException e) {
            nbytes = -1;
        }
        if (numel < 0 || nbytes < 0 || nbytes > MAX_STORAGE_BYTES) {
            throw new CheckpointException(bad + "a storage of " + numel + " elements is negative or larger than this reader "
                    + "handles (" + MAX_STORAGE_BYTES + " bytes per storage). Convert the checkpoint to safetensors.");
        }
        String key = (String) pid[2];
        StorageRef ref = new StorageRef(type, key, numel);
        StorageRef before = seen.putIfAbsent(key, ref);
        if (before != null && !before.equals(ref)) {
            throw new CheckpointException(bad + "storage " + key + " is declared twice with different types or sizes." + fix);
        }
        return before != null ? before : ref;
    }

    private static Map<String, TensorRef> checkTopLevel(Object top, Path file) throws CheckpointException {
        String fix = " A state dict file must hold a dict of name -> tensor: in Python save model.state_dict() "
                + "(ideally with safetensors.torch.save_file).";
        if (!(top instanceof Map)) {
            throw new CheckpointException(file + ": the top-level object is a " + RestrictedUnpickler.typeName(top)
                    + ", not a dict of name -> tensor." + fix);
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) top).entrySet()) {
            if (!(e.getKey() instanceof String)) {
                throw new CheckpointException(file + ": the state dict has a key of type "
                        + RestrictedUnpickler.typeName(e.getKey()) + " (" + e.getKey() + "), not a string." + fix);
            }
            if (!(e.getValue() instanceof TensorRef)) {
                throw new CheckpointException(file + ": state dict entry '" + e.getKey() + "' is a "
                        + RestrictedUnpickler.typeName(e.getValue()) + ", not a tensor." + fix);
            }
            out.put((String) e.getKey(), (TensorRef) e.getValue());
        }
        return out;
    }

    /** Reads one storage's raw bytes. */
    private interface StorageBytes {
        byte[] read(StorageRef ref) throws IOException;
    }

    private static Map<String, NDArray> build(Map<String, TensorRef> tensors, NDManager manager, Path file, StorageBytes source)
            throws IOException {
        Map<String, Integer> uses = new HashMap<>();
        for (TensorRef t : tensors.values()) {
            uses.merge(t.storage().key(), 1, Integer::sum);
        }
        Map<String, byte[]> cache = new HashMap<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        boolean ok = false;
        try {
            for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
                TensorRef t = e.getValue();
                String key = t.storage().key();
                byte[] bytes = cache.get(key);
                if (bytes == null) {
                    bytes = source.read(t.storage());
                    cache.put(key, bytes);
                }
                out.put(e.getKey(), toArray(bytes, t, manager));
                if (uses.merge(key, -1, Integer::sum) == 0) {
                    cache.remove(key);
                }
            }
            ok = true;
            return out;
        } finally {
            if (!ok) {
                out.values().forEach(NDArray::close);
            }
        }
    }

    /** Copies the (possibly strided) view {@code t} out of its storage and makes it an array. */
    private static NDArray toArray(byte[] storage, TensorRef t, NDManager manager) {
        int es = t.storage().type().size;
        int n = (int) t.numel();
        ByteBuffer raw;
        if (n == 0) {
            raw = ByteBuffer.allocate(0);
        } else if (t.isContiguous()) {
            raw = ByteBuffer.wrap(storage, (int) (t.offset() * es), n * es).slice();
        } else {
            byte[] dense = new byte[n * es];
            int rank = t.size().length;
            long[] idx = new long[rank];
            for (int i = 0; i < n; i++) {
                long src = t.offset();
                for (int d = 0; d < rank; d++) {
                    src += idx[d] * t.stride()[d];
                }
                System.arraycopy(storage, (int) (src * es), dense, i * es, es);
                for (int d = rank - 1; d >= 0; d--) {
                    if (++idx[d] < t.size()[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
            raw = ByteBuffer.wrap(dense);
        }
        raw.order(ByteOrder.LITTLE_ENDIAN);
        Shape shape = new Shape(t.size());
        switch (t.storage().type()) {
            case FLOAT:
                return manager.create(raw, shape, DataType.FLOAT32);
            case HALF: {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Half.toFloat(raw.getShort());
                }
                return manager.create(f, shape);
            }
            case BFLOAT16: {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Float.intBitsToFloat((raw.getShort() & 0xFFFF) << 16);
                }
                return manager.create(f, shape);
            }
            case DOUBLE: {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) raw.getDouble();
                }
                return manager.create(f, shape);
            }
            case LONG:
                return manager.create(raw, shape, DataType.INT64);
            case INT:
                return manager.create(raw, shape, DataType.INT32);
            case SHORT: {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = raw.getShort();
                }
                return manager.create(v, shape);
            }
            case CHAR:
                return manager.create(raw, shape, DataType.INT8);
            case BYTE:
                return manager.create(raw, shape, DataType.UINT8);
            case BOOL:
                return manager.create(raw, shape, DataType.BOOLEAN);
            default:
                throw new IllegalStateException("unreachable: " + t.storage().type());
        }
    }

    // ------------------------------------------------------------------ what the pickle may build

    /** The {@code torch.*Storage} types: Python name, element size. */
    enum StorageType {
        FLOAT("FloatStorage", 4),
        HALF("HalfStorage", 2),
        BFLOAT16("BFloat16Storage", 2),
        DOUBLE("DoubleStorage", 8),
        LONG("LongStorage", 8),
        INT("IntStorage", 4),
        SHORT("ShortStorage", 2),
        CHAR("CharStorage", 1),
        BYTE("ByteStorage", 1),
        BOOL("BoolStorage", 1);

        final String name;
        final int size;

        StorageType(String name, int size) {
            this.name = name;
            this.size = size;
        }

        String pythonName() {
            return "torch." + name;
        }

        static StorageType byName(String name) {
            for (StorageType t : values()) {
                if (t.name.equals(name)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** A storage declared by a persistent id: its element type, key and element count. */
    record StorageRef(StorageType type, String key, long numel) {
        long nbytes() {
            return numel * type.size;
        }
    }

    /** A tensor view of a storage (validated to lie inside it). */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
        long numel() {
            long n = 1;
            for (long s : size) {
                n *= s;
            }
            return n;
        }

        boolean isContiguous() {
            long expected = 1;
            for (int d = size.length - 1; d >= 0; d--) {
                if (size[d] != 1 && stride[d] != expected) {
                    return false;
                }
                expected *= size[d];
            }
            return true;
        }
    }

    /** The callable globals of the allow-list. */
    enum Global {
        ORDERED_DICT("collections.OrderedDict"),
        REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
        REBUILD_PARAMETER("torch._utils._rebuild_parameter");

        final String pythonName;

        Global(String pythonName) {
            this.pythonName = pythonName;
        }

        static Global byName(String name) {
            for (Global g : values()) {
                if (g.pythonName.equals(name)) {
                    return g;
                }
            }
            return null;
        }

        Object call(Object[] args, String source) throws CheckpointException {
            String bad = source + ": " + pythonName + " called with " + args.length + " arguments ";
            String fix = " This is not a plain PyTorch state dict (or the file is corrupt).";
            switch (this) {
                case ORDERED_DICT: {
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    if (args.length == 0) {
                        return dict;
                    }
                    List<Object> pairs = args.length == 1 ? RestrictedUnpickler.asList(args[0]) : null;
                    if (pairs == null) {
                        throw new CheckpointException(bad + "(expected none, or a list of pairs)." + fix);
                    }
                    for (Object p : pairs) {
                        List<Object> kv = RestrictedUnpickler.asList(p);
                        if (kv == null || kv.size() != 2 || !(kv.get(0) instanceof String)) {
                            throw new CheckpointException(bad + "(an item is not a (name, value) pair)." + fix);
                        }
                        dict.put(kv.get(0), kv.get(1));
                    }
                    return dict;
                }
                case REBUILD_PARAMETER: {
                    if (args.length != 3 || !(args[0] instanceof TensorRef)) {
                        throw new CheckpointException(bad + "(expected data tensor, requires_grad, backward_hooks)." + fix);
                    }
                    return args[0];
                }
                case REBUILD_TENSOR_V2: {
                    if ((args.length != 6 && args.length != 7) || !(args[0] instanceof StorageRef)) {
                        throw new CheckpointException(bad + "(expected storage, storage_offset, size, stride, requires_grad, "
                                + "backward_hooks[, metadata])." + fix);
                    }
                    StorageRef storage = (StorageRef) args[0];
                    long offset = RestrictedUnpickler.toLong(args[1], "storage_offset", source);
                    long[] size = RestrictedUnpickler.toLongs(args[2], "size", source);
                    long[] stride = RestrictedUnpickler.toLongs(args[3], "stride", source);
                    return view(storage, offset, size, stride, source);
                }
                default:
                    throw new IllegalStateException("unreachable: " + this);
            }
        }

        private static TensorRef view(StorageRef storage, long offset, long[] size, long[] stride, String source)
                throws CheckpointException {
            String bad = source + ": tensor view (offset " + offset + ", size " + Arrays.toString(size) + ", stride "
                    + Arrays.toString(stride) + ") of storage " + storage.key() + " (" + storage.numel() + " elements) ";
            String fix = " The file is corrupt: download or save it again.";
            if (size.length != stride.length) {
                throw new CheckpointException(bad + "has as many sizes as strides." + fix);
            }
            long numel = 1;
            long last = offset;
            try {
                for (int d = 0; d < size.length; d++) {
                    if (size[d] < 0 || stride[d] < 0) {
                        throw new CheckpointException(bad + "has a negative size or stride." + fix);
                    }
                    numel = Math.multiplyExact(numel, size[d]);
                    if (size[d] > 0) {
                        last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
                    }
                }
            } catch (ArithmeticException e) {
                throw new CheckpointException(bad + "is impossibly large." + fix);
            }
            if (offset < 0 || (numel > 0 && last >= storage.numel())) {
                throw new CheckpointException(bad + "reaches outside its storage." + fix);
            }
            if (numel > MAX_STORAGE_BYTES / storage.type().size) {
                throw new CheckpointException(bad + "is larger than this reader handles. Convert the checkpoint to safetensors.");
            }
            return new TensorRef(storage, offset, size, stride);
        }
    }
}
