package diffusionkit.util;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;

import java.util.Locale;

/**
 * PyTorch's {@code F.conv2d} (square kernel, no dilation, one group) that is right on every CPU. Every convolution
 * of the kit goes through {@link #conv2d}.
 *
 * <p><b>Why.</b> On AMD Zen 5 CPUs (AVX-512), the convolutions of PyTorch 2.7.1's CPU natives (oneDNN 3.7.1, the
 * {@code jit:avx512_core} and {@code brgconv} kernels) are wrong whenever the channel count they sum over is not a
 * whole number of their 16-channel blocks: the input gradient (oneDNN's {@code backward_data}, which sums over the
 * output channels) of a convolution with 1-15, 17 or 24 output channels, such as a UNet's {@code conv_out}, comes
 * back with relative errors of 0.1-1 or NaN, and so does the forward pass of a convolution with 17-31, 40 or 56 input
 * channels. The input gradient of a stride-2 convolution with 48 or 112 input channels is wrong too. Weight
 * gradients are right everywhere. Measured against the same convolution in float64 over 4,752 shapes (kernel 1, 3
 * and 5, stride 1 and 2, 1-104 channels, batch 1-8, 8x8 to 32x32): with oneDNN's ISA capped at AVX2 the tails of
 * 8-channel blocks fail instead, and at AVX those of a convolution with 11 input channels. A Zen 3 (AVX2) CPU shows
 * none of it. A wrong {@code conv_out} input gradient makes every gradient behind it wrong: training and guidance
 * through the UNet go NaN.
 *
 * <p><b>What this does.</b> On the CPU, a convolution of the shapes above runs as im2col and one matrix multiply:
 * the padded input's k·k shifted (strided) views stacked into columns [N, C·k·k, H'·W'], multiplied by the weight
 * [O, C·k·k]. Its backward pass is slicing, padding and matrix multiplies (MKL's sgemm, right for every size
 * measured), with no oneDNN convolution. The others keep PyTorch's own convolution. The routed shapes are
 * <ul>
 *   <li>gradients are being recorded (an input gradient may be taken), the kernel is wider than 1 and the output
 *       channels are not a multiple of 16 or the stride is above 1;</li>
 *   <li>the kernel is wider than 1 and the input channels are above 16 and not a multiple of 16 (the forward);</li>
 *   <li>what PyTorch would not give to oneDNN (batch 1, a kernel of at most 3, at most 20,480 input values): PyTorch
 *       then asks NNPACK first, which prints "Could not initialize NNPACK! Reason: Unsupported hardware" at every
 *       such call on a CPU NNPACK does not know (tens of thousands of lines in a sampling log), and falls back to
 *       its own im2col; the kit does that im2col directly.</li>
 * </ul>
 * The cost is small: the course's UNets route only {@code conv_out} and the stride-2 downsampling convolutions,
 * and only while training or guiding; {@link #route} tells which path a call takes. On a GPU nothing is routed.
 *
 * <p>The system property {@code diffusionkit.conv=native} turns the routing off (every convolution goes to
 * PyTorch), which shows the natives' own behaviour: {@code ConvolutionGradientsTest} fails with it on a CPU that
 * has the defect. {@link #nativeDefect()} runs the failing case of the table once and says whether the natives here
 * have it ({@code ./kit info} prints it).
 */
public final class Convolutions {

    /** Which implementation a convolution call uses. */
    public enum Route {
        /** PyTorch's own convolution (oneDNN on the CPU, cuDNN on a GPU). */
        NATIVE,
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
        if (route(x, weight, stride) == Route.IM2COL) {
            return im2colConv(x, weight, bias, stride, padding);
        }
        Shape s = new Shape(stride, stride);
        Shape p = new Shape(padding, padding);
        return Conv2d.conv2d(x, weight, bias, s, p, new Shape(1, 1)).singletonOrThrow();
    }

    /** The path {@link #conv2d} takes for these arguments now (it depends on the gradient mode of this thread). */
    public static Route route(NDArray x, NDArray weight, int stride) {
        if (!Device.Type.CPU.equals(x.getDevice().getDeviceType()) || "native".equals(System.getProperty(PROPERTY))) {
            return Route.NATIVE;
        }
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        long outChannels = ws.get(0);
        long inChannels = ws.get(1);
        long kernel = ws.get(2);
        // DJL cannot say whether an intermediate array takes part in autograd (requiresGrad is false for any
        // array with a grad_fn), so while gradients are recorded every convolution counts as differentiated.
        boolean recording = Autograd.isRecording();
        if (kernel > 1 && recording && (outChannels % BLOCK != 0 || stride > 1)) {
            return Route.IM2COL;
        }
        if (kernel > 1 && inChannels > BLOCK && inChannels % BLOCK != 0) {
            return Route.IM2COL;
        }
        if (!pytorchUsesOneDnn(xs, kernel, stride)) {
            return Route.IM2COL;
        }
        return Route.NATIVE;
    }

    /**
     * PyTorch 2.7's {@code ConvParams::use_mkldnn} for a float32 CPU input, one group, no dilation: false sends the
     * call to NNPACK's check (printing its warning) and then to the slow im2col path.
     */
    private static boolean pytorchUsesOneDnn(Shape xs, long kernel, int stride) {
        long n = xs.get(0);
        boolean first = stride > 1 || n >= 16 || kernel != 1 || JniUtils.getNumThreads() > 1;
        boolean second = kernel > 3 || n > 1 || xs.size() > 20480;
        return first && second;
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
                        : "; the kit routes the affected convolutions through im2col")
                        : "");
    }
}
