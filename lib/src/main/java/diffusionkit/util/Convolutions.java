package diffusionkit.util;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;

import java.util.Locale;

/**
 * PyTorch's {@code F.conv2d} (square kernel, no dilation, one group) that is right on every CPU. Every convolution
 * of the kit goes through {@link #conv2d}.
 *
 * <p><b>Why.</b> On AMD Zen 5 CPUs (AVX-512), the convolutions of PyTorch 2.7.1's CPU natives (oneDNN 3.7.1, its
 * {@code jit:avx512_core} and {@code brgconv} kernels) are wrong whenever the channel count they sum over is not a
 * whole number of their 16-channel blocks. The input gradient (oneDNN's {@code backward_data}, which sums over the
 * output channels) of a convolution with 1-15, 17 or 24 output channels, such as a UNet's {@code conv_out}, comes
 * back with relative errors of 0.1-1 or NaN; so does the forward pass of a convolution with 17-31, 40 or 56 input
 * channels, and the input gradient of a stride-2 convolution with 48, 80, 112 or 144 input channels (an odd number
 * of 16-channel blocks). Weight gradients are right everywhere. Measured against the same convolution in float64
 * over 6,336 shapes (kernel 1, 3 and 5, stride 1 and 2, 1-256 channels, batch 1-8, 8x8 to 32x32). With oneDNN's ISA
 * capped at AVX2 the tails of 8-channel blocks fail instead, and at AVX a convolution with 11 input channels. A
 * Zen 3 (AVX2) CPU shows none of it. A wrong {@code conv_out} input gradient makes every gradient behind it wrong:
 * training and guidance through the UNet go NaN.
 *
 * <p><b>What this does</b>, on the CPU ({@link #route} says which path a call takes; on a GPU nothing changes):
 * <ul>
 *   <li>{@link Route#PADDED_OUTPUT}: while gradients are recorded, a convolution (kernel above 1) whose output
 *       channels are not a multiple of 16 gets zero filters up to the next multiple, and the extra output channels
 *       are sliced off. Same numbers, and an input gradient that sums over whole blocks. This is the course UNets'
 *       {@code conv_out}; it costs about one more convolution of 16 output channels.</li>
 *   <li>{@link Route#IM2COL}: a convolution with more than 16 input channels that are not a multiple of 16 (its
 *       forward), and while gradients are recorded a stride-2 one with an odd number of 16-channel input blocks,
 *       run as im2col and one matrix multiply: the padded input's k·k shifted (strided) views stacked into columns
 *       [N, C·k·k, H'·W'], times the weight [O, C·k·k]. Its backward pass is slicing, padding and matrix multiplies
 *       (MKL's sgemm, right for every size measured), with no oneDNN convolution. None of the kit's shipped models
 *       has such a layer.</li>
 *   <li>{@link Route#PADDED_BATCH}: what PyTorch itself would not give to oneDNN (batch 1, a kernel of at most 3,
 *       at most 20,480 input values) gets a zero image added to its batch, whose output is dropped (and PyTorch's
 *       other such case, a 1x1 convolution of fewer than 16 images on one thread, goes to {@link Route#IM2COL},
 *       which for a 1x1 kernel is one matrix multiply). PyTorch would
 *       first ask NNPACK, which prints "Could not initialize NNPACK! Reason: Unsupported hardware" at every such
 *       call on a CPU NNPACK does not know (tens of thousands of lines in a sampling log), and then run its own
 *       slow im2col path. Measured on an AMD Zen 5: 50 DDIM steps of one emoji-base image, best of 6, two runs
 *       each, 0.67-0.70 s unrouted and 0.67-0.77 s routed, with no warning.</li>
 * </ul>
 *
 * <p>The system property {@code diffusionkit.conv=native} turns the routing off (every convolution goes to
 * PyTorch), which shows the natives' own behaviour: {@code ConvolutionGradientsTest} fails with it on a CPU that
 * has the defect. {@link #nativeDefect()} runs the failing case once and says whether the natives here have it
 * ({@code ./kit info} prints it).
 */
public final class Convolutions {

    /** Which implementation a convolution call uses. */
    public enum Route {
        /** PyTorch's own convolution (oneDNN on the CPU, cuDNN on a GPU). */
        NATIVE,
        /** PyTorch's own convolution with the output channels padded to a multiple of 16 by zero filters. */
        PADDED_OUTPUT,
        /** PyTorch's own convolution of a single image with a zero image added to the batch (then dropped). */
        PADDED_BATCH,
        /** im2col + matrix multiply: right on every CPU, used for the shapes the natives get wrong. */
        IM2COL
    }

    /** The system property that turns the routing off: {@code -Ddiffusionkit.conv=native}. */
    public static final String PROPERTY = "diffusionkit.conv";

    private static final int BLOCK = 16;

    private static volatile Boolean defect;

    private Convolutions() {}

    /**
     * {@code F.conv2d(x, weight, bias, stride, padding)}: x [N, C, H, W], weight [O, C, k, k], bias [O] or null.
     *
     * @throws IllegalArgumentException when the shapes do not fit together
     */
    public static NDArray conv2d(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        if (xs.dimension() != 4 || ws.dimension() != 4 || xs.get(1) != ws.get(1) || ws.get(2) != ws.get(3)) {
            throw new IllegalArgumentException("conv2d: input [N, C, H, W] and square weight [O, C, k, k] expected, got "
                    + xs + " and " + ws);
        }
        return switch (route(x, weight, stride)) {
            case IM2COL -> im2colConv(x, weight, bias, stride, padding);
            case PADDED_OUTPUT -> paddedOutputConv(x, weight, bias, stride, padding);
            case PADDED_BATCH -> paddedBatchConv(x, weight, bias, stride, padding);
            case NATIVE -> nativeConv(x, weight, bias, stride, padding);
        };
    }

    private static NDArray nativeConv(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape s = new Shape(stride, stride);
        Shape p = new Shape(padding, padding);
        return Conv2d.conv2d(x, weight, bias, s, p, new Shape(1, 1)).singletonOrThrow();
    }

    /**
     * PyTorch's convolution of a batch of one image with a second, zero image added and its output dropped: PyTorch
     * gives a batch of two to oneDNN, where a batch of one small image would first go to NNPACK's check.
     */
    static NDArray paddedBatchConv(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        try (NDArray zero = x.zerosLike(); NDArray two = x.concat(zero, 0)) {
            try (NDArray y = needsPaddedOutput(weight.getShape(), Autograd.isRecording())
                    ? paddedOutputConv(two, weight, bias, stride, padding)
                    : nativeConv(two, weight, bias, stride, padding)) {
                return y.get(new NDIndex("0:1"));
            }
        }
    }

    /**
     * PyTorch's convolution with the output channels padded by zero filters to a multiple of 16, then the padding
     * sliced off: the same numbers, and a backward pass whose input gradient sums over whole 16-channel blocks.
     */
    static NDArray paddedOutputConv(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape ws = weight.getShape();
        long out = ws.get(0);
        long extra = (out + BLOCK - 1) / BLOCK * BLOCK - out;
        NDManager m = weight.getManager();
        try (NDArray zw = m.zeros(new Shape(extra, ws.get(1), ws.get(2), ws.get(3)), weight.getDataType(), weight.getDevice());
             NDArray wp = weight.concat(zw, 0);
             NDArray zb = m.zeros(new Shape(extra), weight.getDataType(), weight.getDevice());
             NDArray bp = bias != null ? bias.concat(zb, 0) : null;
             NDArray y = nativeConv(x, wp, bp, stride, padding)) {
            return y.get(new NDIndex(":, :{}", out));
        }
    }

    /** The path {@link #conv2d} takes for these arguments now (it depends on the gradient mode of this thread). */
    public static Route route(NDArray x, NDArray weight, int stride) {
        if (!Device.Type.CPU.equals(x.getDevice().getDeviceType()) || "native".equals(System.getProperty(PROPERTY))) {
            return Route.NATIVE;
        }
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        long inChannels = ws.get(1);
        long kernel = ws.get(2);
        // DJL cannot say whether an intermediate array takes part in autograd (requiresGrad is false for any
        // array with a grad_fn), so while gradients are recorded every convolution counts as differentiated.
        boolean recording = Autograd.isRecording();
        if (kernel > 1 && inChannels > BLOCK && inChannels % BLOCK != 0) {
            return Route.IM2COL;                      // the forward sums over a partial block
        }
        if (kernel > 1 && recording && stride > 1 && inChannels > BLOCK && (inChannels / BLOCK) % 2 == 1) {
            return Route.IM2COL;                      // the strided input gradient of 48, 80, 112, 144 channels
        }
        // what PyTorch would hand to NNPACK's check (and its warning), then to its own slow path:
        if (!oneDnnForPointwise(xs, kernel, stride)) {
            return Route.IM2COL;                      // a 1x1 convolution on one thread: a matrix multiply
        }
        if (!oneDnnForSmallInput(xs, kernel)) {
            return Route.PADDED_BATCH;                // one small image: add a second, zero one
        }
        return needsPaddedOutput(ws, recording) ? Route.PADDED_OUTPUT : Route.NATIVE;
    }

    /** Whether the input gradient would sum over a partial block of output channels (kernel above 1, recording). */
    private static boolean needsPaddedOutput(Shape weightShape, boolean recording) {
        return recording && weightShape.get(2) > 1 && weightShape.get(0) % BLOCK != 0;
    }

    /**
     * PyTorch 2.7's {@code ConvParams::use_mkldnn} for a float32 CPU input, one group, no dilation, is the "and" of
     * this and {@link #oneDnnForSmallInput}; where it is false, PyTorch asks NNPACK (printing its warning on CPUs
     * NNPACK does not know) and then runs its own slow path. This half: not a 1x1 convolution of fewer than 16
     * images on one thread ("THNN is faster single-threaded").
     */
    private static boolean oneDnnForPointwise(Shape xs, long kernel, int stride) {
        return stride > 1 || xs.get(0) >= 16 || kernel != 1 || JniUtils.getNumThreads() > 1;
    }

    /** The other half: not one image of at most 20,480 values with a kernel of at most 3 ("native is faster"). */
    private static boolean oneDnnForSmallInput(Shape xs, long kernel) {
        return kernel > 3 || xs.get(0) > 1 || xs.size() > 20480;
    }

    /** The convolution as im2col (k·k strided views of the padded input) and one matrix multiply. */
    static NDArray im2colConv(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        long n = xs.get(0);
        long c = xs.get(1);
        long outChannels = ws.get(0);
        int k = (int) ws.get(2);
        long hOut = (xs.get(2) + 2L * padding - k) / stride + 1;
        long wOut = (xs.get(3) + 2L * padding - k) / stride + 1;
        if (hOut < 1 || wOut < 1) {
            throw new IllegalArgumentException("conv2d: kernel " + k + " is larger than the padded input " + xs);
        }
        NDArray padded = padding == 0 ? x
                : x.pad(new Shape(padding, padding, padding, padding), 0f);
        try (NDList views = new NDList(k * k)) {
            for (int u = 0; u < k; u++) {
                for (int v = 0; v < k; v++) {
                    // rows u, u + s, ..., u + s·(H'-1); likewise the columns
                    views.add(padded.get(new NDIndex(":, :, {}:{}:{}, {}:{}:{}",
                            u, u + stride * (hOut - 1) + 1, stride, v, v + stride * (wOut - 1) + 1, stride)));
                }
            }
            NDArray y;                                                        // [N, O, H'·W']
            try (NDArray stacked = NDArrays.stack(views, 2);                  // [N, C, k·k, H', W']
                 NDArray cols = stacked.reshape(n, c * k * k, hOut * wOut);
                 NDArray w2 = weight.reshape(outChannels, c * k * k)) {
                y = w2.matMul(cols);
            }
            if (bias != null) {
                try (NDArray b = bias.reshape(1, outChannels, 1); NDArray unbiased = y) {
                    y = unbiased.add(b);
                }
            }
            try (NDArray flat = y) {
                return flat.reshape(n, outChannels, hOut, wOut);
            }
        } finally {
            if (padded != x) {
                padded.close();
            }
        }
    }

    /**
     * Whether this machine's natives compute a wrong convolution input gradient: the failing case of the defect
     * (32 -> 1 channels, 3x3, 28x28, batch 2) through PyTorch's own convolution against the im2col path in float64.
     * Run once per JVM (about 50 ms); false on a GPU engine's CPU as on any CPU without the defect.
     */
    public static boolean nativeDefect() {
        Boolean d = defect;
        if (d == null) {
            d = NativeConvCheck.run();
            defect = d;
        }
        return d;
    }

    /** A line for {@code ./kit info}: whether the natives' convolution gradients are right here, and what the kit does. */
    public static String describe() {
        boolean bad = nativeDefect();
        boolean off = "native".equals(System.getProperty(PROPERTY));
        return String.format(Locale.ROOT, "convolution input gradients of the natives: %s%s",
                bad ? "WRONG on this CPU (oneDNN with AVX-512)" : "right",
                bad ? (off ? "; routing OFF (-D" + PROPERTY + "=native): training and guidance will be wrong"
                        : "; the kit routes the affected convolutions around them")
                        : "");
    }
}
