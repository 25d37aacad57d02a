package diffusionkit.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.function.BinaryOperator;

/**
 * Arithmetic with a Java number that is safe inside an autograd graph. Use these instead of DJL's
 * {@code NDArray.mul(Number)}, {@code div(Number)}, {@code pow(Number)}, {@code maximum(Number)} and
 * {@code minimum(Number)} wherever a gradient may flow back through the result.
 *
 * <p><b>Why.</b> DJL 0.36's PyTorch engine implements {@code x.mul(2f)} as
 * {@code try (NDArray s = manager.create(2f)) { return x.mul(s); }}. On the CPU, {@code create} wraps a Java direct
 * {@code ByteBuffer} without copying it ({@code torch::from_blob}), and {@code close()} drops the last Java
 * reference to that buffer. Autograd keeps the scalar tensor for the backward pass ({@code d(x*s)/dx = s}), but the
 * memory under it belongs to the buffer, which the garbage collector frees whenever it runs. A backward pass after
 * such a collection reads freed memory: the gradient is silently wrong, or NaN. Seen here as rare NaNs in CLIP
 * guidance gradients and training runs that differed in the fourth digit; with a garbage collection forced between
 * forward and backward, 58 of 100 two-cut CLIP losses had NaN gradients (1-2 in 1000 without). Here the scalar
 * is made with {@code full}, which allocates memory PyTorch owns and counts references to, so closing the Java
 * handle right after the operation (as DJL does, and as these methods do: nothing accumulates in a manager) leaves
 * autograd's reference valid.
 *
 * <p>{@code add(Number)} and {@code sub(Number)} are safe as they are: their backward does not read the scalar.
 */
public final class Scalars {

    private Scalars() {}

    /** A 0-d array holding {@code v}, with x's type, device and manager, in memory PyTorch owns; close it after use. */
    public static NDArray scalarLike(NDArray x, double v) {
        NDArray s = x.getManager().full(new Shape(), (float) v, x.getDataType());
        if (s.getDevice().equals(x.getDevice())) {
            return s;
        }
        try (s) {
            return s.toDevice(x.getDevice(), false);
        }
    }

    /** {@code x * v}. */
    public static NDArray mul(NDArray x, double v) {
        return withScalar(x, v, NDArray::mul);
    }

    /** {@code x / v}. */
    public static NDArray div(NDArray x, double v) {
        return withScalar(x, v, NDArray::div);
    }

    /** {@code x ^ v}. */
    public static NDArray pow(NDArray x, double v) {
        return withScalar(x, v, NDArray::pow);
    }

    /** {@code max(x, v)} elementwise. */
    public static NDArray maximum(NDArray x, double v) {
        return withScalar(x, v, NDArray::maximum);
    }

    /** {@code min(x, v)} elementwise. */
    public static NDArray minimum(NDArray x, double v) {
        return withScalar(x, v, NDArray::minimum);
    }

    /** {@code x /= v} in place. */
    public static NDArray divi(NDArray x, double v) {
        return withScalar(x, v, NDArray::divi);
    }

    private static NDArray withScalar(NDArray x, double v, BinaryOperator<NDArray> op) {
        try (NDArray s = scalarLike(x, v)) {
            return op.apply(x, s);
        }
    }
}
