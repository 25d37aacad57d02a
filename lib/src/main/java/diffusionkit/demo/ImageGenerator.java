package diffusionkit.demo;

import java.awt.image.BufferedImage;
import java.util.function.IntConsumer;

/** What the demo calls to make an image: a colour-guided sampler in the kit, any function in tests. */
@FunctionalInterface
public interface ImageGenerator {

    /**
     * Makes one image for {@code request}.
     *
     * @param progress told the number of steps done so far, as they are done
     */
    BufferedImage generate(DemoRequest request, IntConsumer progress) throws Exception;
}
