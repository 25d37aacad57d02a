package diffusionkit.io;

import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A razorvine {@link Unpickler} that only knows the globals a PyTorch state dict needs.
 *
 * <p>Every opcode that names or instantiates a Python class or function (GLOBAL, STACK_GLOBAL, INST, OBJ,
 * EXT1/2/4, PERSID) is handled here and never reaches razorvine's own handling, so razorvine's global
 * (static) constructor registry is never consulted: a global outside the allow-list is refused at the
 * moment its opcode is read, before any REDUCE could call it. The allowed globals are pushed as plain
 * Java values ({@link PytorchBin.Global}, {@link PytorchBin.StorageType}); REDUCE, NEWOBJ and BUILD are
 * re-implemented to accept only those. Dicts keep insertion order, and every length read from the
 * pickle is checked against the bytes that are left before anything is allocated.
 */
final class RestrictedUnpickler extends Unpickler {

    /** Resolves a {@code BINPERSID} storage id into a storage reference. */
    interface StorageResolver {
        PytorchBin.StorageRef resolve(Object[] pid, long position) throws CheckpointException;
    }

    private final String source;
    private final StorageResolver storages;
    private CountingInput counting;
    private long opcodeStart;

    /**
     * @param source what to name in error messages ({@code file: data.pkl})
     * @param storages resolver for persistent ids, or null when the pickle must not contain any
     */
    RestrictedUnpickler(String source, StorageResolver storages) {
        this.source = source;
        this.storages = storages;
    }

    /** Unpickles one pickle from {@code in}, which must be positioned at its first byte. */
    Object loadFrom(CountingInput in) throws IOException {
        this.counting = in;
        try {
            return load(in);
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(source + ": not a valid pickle (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + " at byte " + opcodeStart + "). The file is corrupt or truncated: "
                    + "download it again, or re-save it in Python with safetensors.", e);
        }
    }

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        opcodeStart = counting.position() - 1;
        switch (key) {
            case Opcodes.GLOBAL: {
                String module = PickleUtils.readline(counting);
                String name = PickleUtils.readline(counting);
                stack.add(resolveGlobal(module, name));
                return NO_RETURN_VALUE;
            }
            case Opcodes.STACK_GLOBAL: {
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(module instanceof String) || !(name instanceof String)) {
                    throw corrupt("STACK_GLOBAL needs two strings");
                }
                stack.add(resolveGlobal((String) module, (String) name));
                return NO_RETURN_VALUE;
            }
            case Opcodes.INST: {
                String module = PickleUtils.readline(counting);
                String name = PickleUtils.readline(counting);
                throw disallowed(module.strip() + "." + name.strip());
            }
            case Opcodes.OBJ:
            case Opcodes.EXT1:
            case Opcodes.EXT2:
            case Opcodes.EXT4:
            case Opcodes.PERSID:
            case Opcodes.NEXT_BUFFER:
            case Opcodes.READONLY_BUFFER:
            case Opcodes.LONG4:
                throw new CheckpointException(source + ": the pickle uses opcode " + opcodeName(key) + " at byte "
                        + opcodeStart + ", which a plain state dict never contains; it is refused. This file is not a "
                        + "plain state dict: load it in Python with torch.load(weights_only=True) and re-save it with safetensors.");
            case Opcodes.REDUCE:
            case Opcodes.NEWOBJ: {
                Object args = stack.pop();
                Object callable = stack.pop();
                stack.add(call(callable, args));
                return NO_RETURN_VALUE;
            }
            case Opcodes.NEWOBJ_EX: {
                Object kwargs = stack.pop();
                Object args = stack.pop();
                Object callable = stack.pop();
                if (!(kwargs instanceof Map) || !((Map<?, ?>) kwargs).isEmpty()) {
                    throw corrupt("NEWOBJ_EX with keyword arguments");
                }
                stack.add(call(callable, args));
                return NO_RETURN_VALUE;
            }
            case Opcodes.BUILD: {
                stack.pop(); // the state: an OrderedDict's attributes (state_dict()._metadata), ignored
                Object target = stack.peek();
                if (!(target instanceof Map)) {
                    throw corrupt("BUILD on a " + typeName(target) + " (only a dict's _metadata is accepted)");
                }
                return NO_RETURN_VALUE;
            }
            case Opcodes.EMPTY_DICT:
                stack.add(new LinkedHashMap<Object, Object>());
                return NO_RETURN_VALUE;
            case Opcodes.DICT: {
                List<Object> items = stack.pop_all_since_marker();
                Map<Object, Object> dict = new LinkedHashMap<>();
                putPairs(dict, items);
                stack.add(dict);
                return NO_RETURN_VALUE;
            }
            case Opcodes.SETITEM: {
                Object value = stack.pop();
                Object k = stack.pop();
                targetDict().put(k, value);
                return NO_RETURN_VALUE;
            }
            case Opcodes.SETITEMS: {
                List<Object> items = stack.pop_all_since_marker();
                putPairs(targetDict(), items);
                return NO_RETURN_VALUE;
            }
            case Opcodes.BINPERSID: {
                Object pid = stack.pop();
                if (storages == null || !(pid instanceof Object[])) {
                    throw corrupt("unexpected persistent id " + typeName(pid));
                }
                stack.add(storages.resolve((Object[]) pid, opcodeStart));
                return NO_RETURN_VALUE;
            }
            case Opcodes.BINUNICODE:
                stack.add(new String(readCounted(4), StandardCharsets.UTF_8));
                return NO_RETURN_VALUE;
            case Opcodes.BINUNICODE8:
                stack.add(new String(readCounted(8), StandardCharsets.UTF_8));
                return NO_RETURN_VALUE;
            case Opcodes.BINSTRING:
                stack.add(new String(readCounted(4), StandardCharsets.ISO_8859_1));
                return NO_RETURN_VALUE;
            case Opcodes.BINBYTES:
                stack.add(readCounted(4));
                return NO_RETURN_VALUE;
            case Opcodes.BINBYTES8:
            case Opcodes.BYTEARRAY8:
                stack.add(readCounted(8));
                return NO_RETURN_VALUE;
            default:
                return super.dispatch(key);
        }
    }

    /** The allow-list: anything else is refused here, as it is read. */
    private Object resolveGlobal(String module, String name) throws CheckpointException {
        String full = module.strip() + "." + name.strip();
        PytorchBin.Global g = PytorchBin.Global.byName(full);
        if (g != null) {
            return g;
        }
        if (module.strip().equals("torch") || module.strip().equals("torch.cuda")) { // location is ignored: read to CPU
            PytorchBin.StorageType t = PytorchBin.StorageType.byName(name.strip());
            if (t != null) {
                return t;
            }
        }
        throw disallowed(full);
    }

    private CheckpointException disallowed(String full) {
        String simple = full.substring(full.lastIndexOf('.') + 1);
        String kind = !simple.isEmpty() && Character.isUpperCase(simple.charAt(0)) ? "class" : "function";
        String fix;
        if (full.startsWith("torch.nn.")) {
            fix = "It holds a pickled model object, not a state dict: in Python save model.state_dict() instead "
                    + "(ideally with safetensors: safetensors.torch.save_file(model.state_dict(), 'model.safetensors')).";
        } else {
            fix = "This file is not a plain state dict: load it in Python with torch.load(weights_only=True) "
                    + "and re-save it with safetensors.";
        }
        return new CheckpointException(source + ": the pickle references the disallowed global " + full
                + " (unsupported " + kind + " " + full + ", at byte " + opcodeStart + "); only tensor-rebuild globals are "
                + "allowed (" + PytorchBin.allowedGlobals() + "). It was refused before anything was called. " + fix);
    }

    private Object call(Object callable, Object args) throws CheckpointException {
        if (!(callable instanceof PytorchBin.Global)) {
            throw corrupt("REDUCE/NEWOBJ of a " + typeName(callable) + ", which is not an allowed callable");
        }
        if (!(args instanceof Object[])) {
            throw corrupt("REDUCE/NEWOBJ arguments are a " + typeName(args) + ", not a tuple");
        }
        return ((PytorchBin.Global) callable).call((Object[]) args, source);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> targetDict() throws CheckpointException {
        Object target = stack.peek();
        if (!(target instanceof Map)) {
            throw corrupt("SETITEM(S) on a " + typeName(target));
        }
        return (Map<Object, Object>) target;
    }

    private void putPairs(Map<Object, Object> dict, List<Object> items) throws CheckpointException {
        if (items.size() % 2 != 0) {
            throw corrupt("odd number of dict items");
        }
        for (int i = 0; i < items.size(); i += 2) {
            dict.put(hashable(items.get(i)), items.get(i + 1));
        }
    }

    private Object hashable(Object key) throws CheckpointException {
        if (key == null || key instanceof String || key instanceof Number || key instanceof Boolean) {
            return key;
        }
        throw corrupt("dict key of type " + typeName(key));
    }

    /** Reads a length-prefixed payload, checking the length against what is left before allocating. */
    private byte[] readCounted(int lengthBytes) throws IOException {
        byte[] len = counting.readNBytes(lengthBytes);
        if (len.length != lengthBytes) {
            throw corrupt("premature end of pickle");
        }
        long n = 0;
        for (int i = lengthBytes - 1; i >= 0; i--) {
            n = (n << 8) | (len[i] & 0xFF);
        }
        if (n < 0 || n > counting.remaining() || n > Integer.MAX_VALUE - 8) {
            throw corrupt("a string of " + Long.toUnsignedString(n) + " bytes where only " + counting.remaining() + " are left");
        }
        byte[] data = counting.readNBytes((int) n);
        if (data.length != n) {
            throw corrupt("premature end of pickle");
        }
        return data;
    }

    private CheckpointException corrupt(String what) {
        return new CheckpointException(source + ": unexpected pickle content at byte " + opcodeStart + ": " + what
                + ". This is not a plain PyTorch state dict (or the file is corrupt): load it in Python with "
                + "torch.load(weights_only=True) and re-save it with safetensors.");
    }

    static String typeName(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Object[]) {
            return "tuple";
        }
        if (o instanceof PytorchBin.TensorRef) {
            return "tensor";
        }
        return o.getClass().getSimpleName();
    }

    private static String opcodeName(short key) {
        return switch (key) {
            case Opcodes.OBJ -> "OBJ";
            case Opcodes.EXT1 -> "EXT1";
            case Opcodes.EXT2 -> "EXT2";
            case Opcodes.EXT4 -> "EXT4";
            case Opcodes.PERSID -> "PERSID";
            case Opcodes.NEXT_BUFFER -> "NEXT_BUFFER";
            case Opcodes.READONLY_BUFFER -> "READONLY_BUFFER";
            case Opcodes.LONG4 -> "LONG4";
            default -> String.format(Locale.ROOT, "0x%02x", key);
        };
    }

    /** An input stream that knows its position and how many bytes are left (the pickle or file size is known). */
    static final class CountingInput extends InputStream {
        private final InputStream in;
        private final long length;
        private long pos;

        CountingInput(InputStream in, long length) {
            this.in = in;
            this.length = length;
        }

        long position() {
            return pos;
        }

        long remaining() {
            return Math.max(0, length - pos);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                pos++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                pos += n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** A Python int from the pickle as a long. */
    static long toLong(Object o, String what, String source) throws CheckpointException {
        if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) {
            return ((Number) o).longValue();
        }
        if (o instanceof BigInteger) {
            try {
                return ((BigInteger) o).longValueExact();
            } catch (ArithmeticException e) {
                throw new CheckpointException(source + ": " + what + " " + o + " does not fit in 64 bits. The file is corrupt.");
            }
        }
        throw new CheckpointException(source + ": " + what + " is a " + typeName(o) + ", not an int. "
                + "This is not a plain PyTorch state dict (or the file is corrupt).");
    }

    /** A tuple from the pickle as a list of longs. */
    static long[] toLongs(Object o, String what, String source) throws CheckpointException {
        if (!(o instanceof Object[])) {
            throw new CheckpointException(source + ": " + what + " is a " + typeName(o) + ", not a tuple of ints. "
                    + "This is not a plain PyTorch state dict (or the file is corrupt).");
        }
        Object[] a = (Object[]) o;
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = toLong(a[i], what, source);
        }
        return out;
    }

    static List<Object> asList(Object o) {
        if (o instanceof Object[]) {
            return java.util.Arrays.asList((Object[]) o);
        }
        if (o instanceof List) {
            return new ArrayList<>((List<?>) o);
        }
        return null;
    }
}
