package io.github.spencerpark.ijava;

import java.util.List;

import diffusionkit.kernel.IJavaRuntime;
import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import io.github.spencerpark.jupyter.kernel.display.Renderer;

/**
 * The methods of IJava's kernel object that notebooks use: its renderer (to teach the kernel to show a type),
 * {@code eval}/{@code evalRaw}, {@code display}, the class path. Backed by the kit's kernel.
 */
public final class JavaKernel {

    JavaKernel() {
    }

    /** The renderer: {@code getRenderer().createRegistration(MyType.class).preferring(MIMEType.TEXT_HTML).register(...)}. */
    public Renderer getRenderer() {
        return IJavaRuntime.renderer();
    }

    /** Evaluates code as a cell and renders its value (null when it has none). */
    public DisplayData eval(String code) throws Exception {
        return IJavaRuntime.eval(code);
    }

    /** Evaluates code as a cell: the value of its trailing expression, or null. */
    public Object evalRaw(String code) throws Exception {
        return IJavaRuntime.evalRaw(code);
    }

    /** Shows display data below the running cell. */
    public void display(DisplayData data) {
        IJavaRuntime.display(data);
    }

    /** Adds jars or folders to the class path (IJava takes a path-separated list). */
    public void addToClasspath(String path) {
        for (String p : path.split(java.io.File.pathSeparator)) {
            if (!p.isBlank()) {
                IJavaRuntime.addToClasspath(p);
            }
        }
    }

    /** The class path, as entries. */
    public List<String> getClasspath() {
        return IJavaRuntime.classpath();
    }
}
