package io.github.spencerpark.ijava;

import diffusionkit.kernel.IJavaRuntime;

/**
 * IJava's entry point, as notebooks written for IJava call it: {@code IJava.getKernelInstance().getRenderer()...}.
 * The kit's kernel provides it with IJava's names and signatures; the work is done by the kit's kernel.
 */
public final class IJava {

    private static final JavaKernel INSTANCE = new JavaKernel();

    private IJava() {
    }

    /** The running kernel, or null outside one (as in IJava). */
    public static JavaKernel getKernelInstance() {
        return IJavaRuntime.running() ? INSTANCE : null;
    }
}
