package diffusionkit.models;

import ai.djl.ndarray.NDArray;

/** Small tensor functions shared by the blocks. */
final class Ops {

    private Ops() {}

    /** SiLU (swish): {@code x * sigmoid(x)}. */
    static NDArray silu(NDArray x) {
        try (NDArray s = x.getNDArrayInternal().sigmoid()) {
            return x.mul(s);
        }
    }
}
