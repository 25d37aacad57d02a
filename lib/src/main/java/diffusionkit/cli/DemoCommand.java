package diffusionkit.cli;

import diffusionkit.demo.ColorGuidedGenerator;
import diffusionkit.demo.DemoServer;
import diffusionkit.pipelines.DiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** Serves the colour-guidance web demo. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the colour-guidance web demo (the course's Gradio demo): a colour picker and a guidance",
                "scale produce a colour-guided image. Example: ./kit demo --port 7860, then open http://127.0.0.1:7860/"})
final class DemoCommand implements Callable<Integer> {

    @Option(names = {"--model"}, description = "a diffusers folder (pipeline or bare UNet) or a kit model name"
            + " (default: ${DEFAULT-VALUE})")
    String model = KitModels.BASE_MODEL;

    @Option(names = {"--port"}, description = "port to listen on, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port = 7860;

    @Option(names = {"--bind"}, description = "address to listen on; anything but the loopback address makes the demo"
            + " reachable from other machines (default: ${DEFAULT-VALUE})")
    String bind = "127.0.0.1";

    @Option(names = {"--queue"}, description = "requests that may wait while one image is generated; more are told"
            + " the server is busy (default: ${DEFAULT-VALUE})")
    int queue = 4;

    @Option(names = {"--display-size"}, description = "enlarge images to about this many pixels (default: ${DEFAULT-VALUE})")
    int displaySize = 256;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + " is not a port: use 0 to 65535");
        }
        if (queue < 0) {
            throw new IllegalArgumentException("--queue must be 0 or more, got " + queue);
        }
        InetAddress addr = InetAddress.getByName(bind);
        if (!addr.isLoopbackAddress()) {
            System.err.println("warning: --bind " + bind + " makes the demo reachable from other machines");
        }
        DiffusionPipeline pipeline = DiffusionPipeline.fromPretrained(KitModels.resolve(model, "--model"));
        DemoServer server = new DemoServer(new ColorGuidedGenerator(pipeline, displaySize), model,
                new InetSocketAddress(addr, port), queue).start();
        System.out.println("diffusion-kit demo: " + server.url() + "  (model " + model + "; Ctrl-C to stop)");
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            pipeline.close();
            stop.countDown();
        }));
        stop.await();
        return 0;
    }
}
