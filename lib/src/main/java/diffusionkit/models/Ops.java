package diffusionkit.models;

import ai.djl.ndarray.NDArray;

/** Small tensor functions shared by the blocks. */
final class Ops {

    private Ops() {}

    /** SiLU (swish): {@code x * sigmoid(x)}, PyTorch's fused {@code silu} where {@link FusedOps} is available. */
    static NDArray silu(NDArray x) {
        if (FusedOps.useFor(x)) {
            return FusedOps.silu(x);
        }
        try (NDArray s = x.getNDArrayInternal().sigmoid()) {
            return x.mul(s);
        }
    }
}
