package diffusionkit.util;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

import java.util.function.Supplier;

/**
 * PyTorch's gradient mode, which is per thread. A new thread starts with it ON, so without care a forward pass of a
 * model whose parameters take gradients records an autograd graph on any thread but the one DJL started on: slower,
 * more memory, and a graph that a later {@code backward} may walk into (guidance on a web server's worker thread
 * fails with "Trying to backward through the graph a second time"). Inference entry points of the kit run their
 * body through {@link #noGrad(Supplier)}; DJL's {@code GradientCollector} turns the mode on inside and restores it.
 */
public final class Autograd {

    private Autograd() {}

    /** Runs {@code body} with gradient recording off on this thread (like {@code torch.no_grad()}), then restores it. */
    public static <T> T noGrad(Supplier<T> body) {
        if (!isPyTorch()) {
            return body.get();
        }
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return body.get();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }

    /** Whether this thread records gradients now. */
    public static boolean isRecording() {
        return isPyTorch() && JniUtils.isGradMode();
    }

    private static boolean isPyTorch() {
        return "PyTorch".equals(Engine.getInstance().getEngineName());
    }
}
