package diffusionkit.demo;

import java.awt.image.BufferedImage;
import java.util.function.IntConsumer;

/** What the demo calls to make an image: a colour-guided sampler in the kit, any function in tests. */
@FunctionalInterface
public interface ImageGenerator {

    /**
     * Makes one image for {@code request}.
     *
     * @param progress told the number of steps done so far, as they are done; it throws (an unchecked
     *     {@link java.util.concurrent.CancellationException}) when the server no longer wants the image (the request
     *     timed out, or the server is closing): let it propagate, freeing what the generation holds
     */
    BufferedImage generate(DemoRequest request, IntConsumer progress) throws Exception;

    /** Whether requests may carry a prompt ({@link DemoRequest#prompt()}); the server refuses them otherwise. */
    default boolean takesPrompts() {
        return false;
    }
}
