package diffusionkit.kernel;

import java.util.Objects;
import java.util.UUID;

import io.github.spencerpark.jupyter.kernel.display.DisplayData;

/**
 * The display API for notebook cells, with IJava's names: every cell has {@code import static
 * diffusionkit.kernel.Display.*}, so a cell calls {@code display(image)} and later
 * {@code updateDisplay(id, newImage)} to animate a progress bar or a live loss plot in place.
 */
public final class Display {

    private static volatile JavaKernel kernel;

    private Display() {
    }

    static void attach(JavaKernel k) {
        kernel = k;
    }

    /** Whether a kernel is running in this JVM. */
    static boolean attached() {
        return kernel != null;
    }

    /** The running kernel; outside one, an error that says so. */
    static JavaKernel kernel() {
        JavaKernel k = kernel;
        if (k == null) {
            throw new IllegalStateException("display(...) and IJava's API work only inside the Jupyter kernel");
        }
        return k;
    }

    /**
     * Shows an object below the cell now (images and charts as PNG, tables as HTML, anything else as text).
     *
     * @param o the object to show
     * @return the display id, for {@link #updateDisplay(String, Object)}
     */
    public static String display(Object o) {
        return display(o, new String[0]);
    }

    /**
     * Shows an object as the given MIME types (for example {@code "text/html"}).
     *
     * @param o the object to show
     * @param as MIME types to render; none means the preferred ones
     * @return the display id, for {@link #updateDisplay(String, Object, String...)}
     */
    public static String display(Object o, String... as) {
        DisplayData data = render(o, as);
        String id = data.hasDisplayId() ? data.getDisplayId() : UUID.randomUUID().toString();
        data.setDisplayId(id);
        kernel().publishDisplay(data, false);
        return id;
    }

    /**
     * Replaces what an earlier {@link #display(Object)} showed.
     *
     * @param id the display id that {@code display} returned
     * @param o the new object to show
     */
    public static void updateDisplay(String id, Object o) {
        updateDisplay(id, o, new String[0]);
    }

    /**
     * Replaces what an earlier {@link #display(Object)} showed, rendering the object as the given MIME types.
     *
     * @param id the display id that {@code display} returned
     * @param o the new object to show
     * @param as MIME types to render; none means the preferred ones
     */
    public static void updateDisplay(String id, Object o, String... as) {
        Objects.requireNonNull(id, "updateDisplay needs the id that display(...) returned");
        DisplayData data = render(o, as);
        data.setDisplayId(id);
        kernel().publishDisplay(data, true);
    }

    /**
     * Renders an object the way the kernel would show it, without showing it.
     *
     * @param o the object
     * @param as MIME types to render; none means the preferred ones
     * @return the rendered bundle
     */
    public static DisplayData render(Object o, String... as) {
        if (o == null) {
            return new DisplayData("null");
        }
        if (o instanceof DisplayData) {
            return (DisplayData) o;
        }
        return as == null || as.length == 0
                ? kernel().getRenderer().render(o)
                : kernel().getRenderer().renderAs(o, as);
    }
}
