package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import diffusionkit.util.Autograd;

import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * PyTorch's own fused {@code group_norm} and {@code silu}, which DJL's API lacks, called through a TorchScript module
 * shipped with the kit ({@code fused_ops.pt}, written by {@code environment/reference/make_fused_ops.py}: TorchScript
 * source that PyTorch compiles when it loads it). {@link GroupNorm} and the blocks' SiLU use them when
 * {@link #available()}, and otherwise the composition they used before (a layer norm over the groups, an
 * inference-mode batch norm for the per-channel affine; {@code x * sigmoid(x)}): the same function, whose backward
 * pass makes several more passes over the tensor.
 *
 * <p><b>Why.</b> Measured on an AMD Zen 5 (2 cores), the training step of the course's 32x32 RGB UNet at batch 128:
 * the composed group norm and SiLU took 1.9 s of its 7.9 s of operator time (the affine's batch-norm backward alone
 * 0.75 s), where eager PyTorch's fused ones take 0.5 s.
 *
 * <p><b>How.</b> DJL's {@code IValueUtils.runMethod} runs a TorchScript method with gradients off; while gradients are
 * recorded this calls the same native entry point with them on (found by reflection, since DJL keeps it package-private),
 * so the outputs take part in autograd like any other operation. When the module or that entry point cannot be found
 * (another DJL version, another engine), {@link #available()} is false and {@link #reason()} says why. The system
 * property {@code diffusionkit.fusedOps=false} turns them off.
 */
public final class FusedOps {

    /** The system property that turns the fused operations off: {@code -Ddiffusionkit.fusedOps=false}. */
    static final String PROPERTY = "diffusionkit.fusedOps";

    private static final String RESOURCE = "/diffusionkit/models/fused_ops.pt";

    private FusedOps() {}

    /** Whether the fused operations are used (the module loaded, and not turned off by the property). */
    static boolean available() {
        return !"false".equals(System.getProperty(PROPERTY)) && Loaded.ERROR == null;
    }

    /**
     * Whether to use them for {@code x}: {@link #available()} and {@code x} on the CPU, where they were measured and
     * tested (a GPU keeps the composed operations until they are checked there).
     */
    static boolean useFor(NDArray x) {
        return ai.djl.Device.Type.CPU.equals(x.getDevice().getDeviceType()) && available();
    }

    /** Why the fused operations are not available, or null when they are loaded. */
    static String reason() {
        if ("false".equals(System.getProperty(PROPERTY))) {
            return "turned off (-D" + PROPERTY + "=false)";
        }
        return Loaded.ERROR;
    }

    /** One line for {@code ./kit info} and the benchmark: which group norm and SiLU the CPU runs, or why not the fused ones. */
    public static String describe() {
        return available() ? "group norm and SiLU: PyTorch's fused kernels (TorchScript fused_ops.pt) on the CPU"
                : "group norm and SiLU: composed from DJL's operations; " + reason();
    }

    /** {@code F.silu(x)}. */
    static NDArray silu(NDArray x) {
        return run(x, "silu", IValue.from((PtNDArray) x));
    }

    /** {@code F.group_norm(x, groups, weight, bias, eps)}. */
    static NDArray groupNorm(NDArray x, NDArray weight, NDArray bias, int groups, double eps) {
        return run(x, "group_norm", IValue.from((PtNDArray) x), IValue.from((PtNDArray) weight),
                IValue.from((PtNDArray) bias), IValue.from((long) groups), IValue.from(eps));
    }

    private static NDArray run(NDArray like, String method, IValue... inputs) {
        long[] handles = Arrays.stream(inputs).mapToLong(IValue::getHandle).toArray();
        IValue out = null;
        try {
            long h = (long) Loaded.RUN_METHOD.invoke(Loaded.LIBRARY, Loaded.MODULE.getHandle(), method, handles,
                    Autograd.isRecording(), false);
            out = Loaded.IVALUE.newInstance(h);
            return out.toTensor((PtNDManager) like.getManager());
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RuntimeException r) {
                throw r;  // an engine error (bad shapes ...) as PyTorch reports it
            }
            throw new IllegalStateException("the fused " + method + " failed: " + cause, cause);
        } finally {
            for (IValue v : inputs) {
                v.close();
            }
            if (out != null) {
                out.close();
            }
        }
    }

    /** The module and the native entry point, loaded once (class initialisation is thread-safe). */
    private static final class Loaded {
        static final PtSymbolBlock MODULE;
        static final Object LIBRARY;
        static final Method RUN_METHOD;
        static final Constructor<IValue> IVALUE;
        static final String ERROR;

        static {
            PtSymbolBlock module = null;
            Object library = null;
            Method runMethod = null;
            Constructor<IValue> ivalue = null;
            String error = null;
            try {
                Class<?> lib = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
                java.lang.reflect.Field f = lib.getDeclaredField("LIB");
                f.setAccessible(true);
                library = f.get(null);
                runMethod = lib.getDeclaredMethod("moduleRunMethod", long.class, String.class, long[].class,
                        boolean.class, boolean.class);
                runMethod.setAccessible(true);
                ivalue = IValue.class.getDeclaredConstructor(long.class);
                ivalue.setAccessible(true);
                Path tmp = Files.createTempFile("diffusionkit-fused-ops", ".pt");
                try (InputStream in = FusedOps.class.getResourceAsStream(RESOURCE)) {
                    if (in == null) {
                        throw new IllegalStateException(RESOURCE + " is missing from the classpath");
                    }
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    NDManager m = NDManager.newBaseManager("PyTorch");  // lives as long as the JVM
                    module = JniUtils.loadModule((PtNDManager) m, tmp, false, new String[0], new String[0], false);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (Exception | LinkageError e) {
                error = "PyTorch's fused group norm and SiLU are unavailable (" + e + "); using the composed ones";
            }
            MODULE = module;
            LIBRARY = library;
            RUN_METHOD = runMethod;
            IVALUE = ivalue;
            ERROR = error;
        }
    }
}
