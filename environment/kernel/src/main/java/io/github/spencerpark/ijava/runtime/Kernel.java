package io.github.spencerpark.ijava.runtime;

import io.github.spencerpark.ijava.IJava;
import io.github.spencerpark.ijava.JavaKernel;

/** IJava's {@code getKernelInstance()} and {@code eval(code)}, statically imported in every cell as in IJava. */
public final class Kernel {

    private Kernel() {
    }

    /** The running kernel, or null. */
    public static JavaKernel getKernelInstance() {
        return IJava.getKernelInstance();
    }

    /** Evaluates code as a cell; the value of its trailing expression, or null. */
    public static Object eval(String code) throws Exception {
        JavaKernel kernel = getKernelInstance();
        if (kernel == null) {
            throw new IllegalStateException("No IJava kernel running");
        }
        return kernel.evalRaw(code);
    }
}
