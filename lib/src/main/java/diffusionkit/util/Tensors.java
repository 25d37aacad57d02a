package diffusionkit.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** In-place copies between arrays (loading weights, restoring checkpoints). */
public final class Tensors {

    private static final NDIndex ALL = new NDIndex("...");

    private Tensors() {}

    /**
     * Copies the values of {@code src} into {@code target} in place (same shape; converted to the target's data type
     * and device), with gradients off, so that a parameter that requires gradients can be loaded. This is what DJL's
     * {@code copyTo} and {@code set(Buffer)} do, without the "AutoNonVariableTypeMode is deprecated" warning that
     * their native code makes PyTorch print (once per JVM, on every run that loads a model).
     *
     * @throws IllegalArgumentException when the shapes differ
     */
    public static void copyInto(NDArray src, NDArray target) {
        if (!src.getShape().equals(target.getShape())) {
            throw new IllegalArgumentException("cannot copy an array of shape " + src.getShape() + " into one of shape "
                    + target.getShape());
        }
        NDArray typed = src.getDataType() == target.getDataType() ? src : src.toType(target.getDataType(), false);
        NDArray placed = typed.getDevice().equals(target.getDevice()) ? typed : typed.toDevice(target.getDevice(), false);
        try {
            Autograd.noGrad(() -> {
                target.set(ALL, placed);
                return null;
            });
        } finally {
            if (placed != typed) {
                placed.close();
            }
            if (typed != src) {
                typed.close();
            }
        }
    }
}
