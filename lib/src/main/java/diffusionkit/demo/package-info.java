/**
 * The web demo: the kit's answer to the Gradio app at the end of the course's Unit 2 notebook 1.
 *
 * <ul>
 *   <li>{@link diffusionkit.demo.DemoServer}: the page and its small HTTP API, one worker, a bounded queue.</li>
 *   <li>{@link diffusionkit.demo.DemoRequest}: a validated request (colour, scale, steps, seed).</li>
 *   <li>{@link diffusionkit.demo.ImageGenerator}: what the server calls; {@link diffusionkit.demo.ColorGuidedGenerator}
 *       is the course's colour-guided DDIM, used by {@code ./kit demo} and notebook 1 alike.</li>
 * </ul>
 */
package diffusionkit.demo;
