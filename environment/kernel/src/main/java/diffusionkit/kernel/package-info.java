/**
 * A Jupyter kernel for Java built on JShell and {@code jupyter-jvm-basekernel}, compatible with IJava's notebooks.
 *
 * <p>Snippets run in the kernel's own JVM ({@link diffusionkit.kernel.SnippetExecutionControl}), so a cell's
 * value is the real object: images and XChart charts show as PNG, Tablesaw tables as HTML. The kit's lib and all its
 * dependencies are on the class path from the start. Cells may call {@link diffusionkit.kernel.Display#display}
 * and {@link diffusionkit.kernel.Display#updateDisplay} and use the magics {@code %maven}, {@code %jars},
 * {@code %classpath} and {@code %load}. Start it with {@link diffusionkit.kernel.Main}.
 */
package diffusionkit.kernel;
