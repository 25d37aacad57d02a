package diffusionkit.kernel;

import java.nio.file.Path;
import java.util.List;

import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import io.github.spencerpark.jupyter.kernel.display.Renderer;

/**
 * What IJava's runtime API ({@code io.github.spencerpark.ijava.IJava}, {@code ...runtime.Kernel},
 * {@code ...runtime.Magics}) reaches in this kernel: evaluation, magics by name, the renderer, the class path. Those
 * classes, written for the kit with IJava's names and signatures, call these methods.
 */
public final class IJavaRuntime {

    private IJavaRuntime() {
    }

    /** Whether a kernel is running (IJava's {@code getKernelInstance()} returns null otherwise). */
    public static boolean running() {
        return Display.attached();
    }

    private static JavaKernel kernel() {
        return Display.kernel();
    }

    /** Evaluates code as a cell (magics included); the value of its trailing expression, or null. */
    public static Object evalRaw(String code) throws Exception {
        return kernel().evalNested(code);
    }

    /** Evaluates code as a cell and renders its value, or null when it has none. */
    public static DisplayData eval(String code) throws Exception {
        Object value = evalRaw(code);
        return value == null ? null : Display.render(value);
    }

    /** Runs a line magic by name: its value (for {@code %jars}, the paths added). */
    public static Object lineMagic(String name, List<String> args) throws Exception {
        return kernel().magics().apply(name, args, System.out);
    }

    /** Runs a cell magic by name with its body. */
    public static Object cellMagic(String name, List<String> args, String body) throws Exception {
        return kernel().magics().applyCell(name, args, body, System.out);
    }

    /** The kernel's renderer: a notebook registers its own types with {@code createRegistration}. */
    public static Renderer renderer() {
        return kernel().getRenderer();
    }

    /** Adds a jar or folder to the snippets' class path. */
    public static void addToClasspath(String path) {
        kernel().addToClasspath(Path.of(path).toAbsolutePath());
    }

    /** The snippets' class path. */
    public static List<String> classpath() {
        return kernel().classpath();
    }

    /** Shows display data below the running cell. */
    public static void display(DisplayData data) {
        kernel().publishDisplay(data, false);
    }
}
