package diffusionkit.cli;

import diffusionkit.demo.ColorGuidedGenerator;
import diffusionkit.demo.DemoServer;
import diffusionkit.pipelines.DiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import diffusionkit.clip.ClipModel;
import diffusionkit.clip.ClipTokenizer;
import diffusionkit.data.KitHome;
import diffusionkit.hub.Pretrained;
import java.nio.file.Files;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** Serves the guidance web demo: a colour, and a prompt through CLIP. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the guidance web demo (the course's Gradio demo): a colour picker and a guidance scale,",
                "and a prompt through CLIP (the kit's emoji CLIP by default), produce a guided image.",
                "Example: ./kit demo --port 7860, then open http://127.0.0.1:7860/"})
final class DemoCommand extends KitCommand {

    @Option(names = {"--model"}, description = "a diffusers folder (pipeline or bare UNet), a kit model name or a"
            + " Hugging Face Hub id (google/ddpm-celebahq-256, optionally @revision)"
            + " (default: ${DEFAULT-VALUE})")
    String model = KitModels.BASE_MODEL;

    @Option(names = {"--clip"}, description = "a CLIP for prompts: a folder (transformers layout), a hub id (openai/clip-vit-base-patch32)"
            + " or 'none' (default: "
            + "the kit's emoji CLIP, datasets/models/emoji-clip, when present)")
    String clip;

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

    /** A started demo: the server and the models it serves. Closing it stops the server, then frees the models. */
    record Running(DemoServer server, DiffusionPipeline pipeline, ClipModel clip) implements AutoCloseable {
        @Override
        public void close() {
            server.close();     // waits for a running generation to stop before the models are freed
            if (clip != null) {
                clip.close();
            }
            pipeline.close();
        }
    }

    @Override
    public Integer call() throws Exception {
        Running demo = start();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            demo.close();
            stop.countDown();
        }));
        stop.await();
        return 0;
    }

    /** Checks the options, loads the model and starts the server; prints its address (and a warning off loopback). */
    Running start() throws Exception {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + " is not a port: use 0 to 65535 (0: any free one)");
        }
        if (queue < 0) {
            throw new IllegalArgumentException("--queue must be 0 or more, got " + queue);
        }
        if (displaySize < 1 || displaySize > 2048) {
            throw new IllegalArgumentException("--display-size " + displaySize + " is out of range: use 1 to 2048");
        }
        InetAddress addr;
        try {
            addr = InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--bind '" + bind + "' is not an address of this machine: leave it out"
                    + " (127.0.0.1, this machine only) or give one of this machine's addresses", e);
        }
        PrintWriter err = spec.commandLine().getErr();
        if (!addr.isLoopbackAddress()) {
            err.println("warning: --bind " + bind + " makes the demo reachable from other machines"
                    + " (anyone who can reach this port can make the server generate images)");
            err.flush();
        }
        Path folder = KitModels.resolve(model, "--model");
        String name = folder.toAbsolutePath().normalize().getFileName().toString();
        Path clipFolder = clipFolder();
        DiffusionPipeline pipeline = DiffusionPipeline.fromPretrained(folder);
        ClipModel clipModel = null;
        DemoServer server;
        try {
            ColorGuidedGenerator generator = new ColorGuidedGenerator(pipeline, displaySize);
            if (clipFolder != null) {
                clipModel = ClipModel.fromPretrained(clipFolder, pipeline.unet().manager());
                generator = generator.withClip(clipModel, ClipTokenizer.fromPretrained(clipFolder));
            }
            server = new DemoServer(generator, name, new InetSocketAddress(addr, port), queue).start();
        } catch (IOException | RuntimeException e) {
            pipeline.close();
            if (clipModel != null) {
                clipModel.close();
            }
            if (e instanceof BindException) {
                throw new IllegalArgumentException("cannot listen on " + bind + ":" + port + " (" + e.getMessage()
                        + "): pick another --port (0: any free one), or an address of this machine for --bind", e);
            }
            throw e;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("diffusion-kit demo: " + server.url() + "  (model " + name
                + (clipFolder != null ? ", prompts through " + clipFolder.getFileName() : ", no prompts") + "; Ctrl-C to stop)");
        out.flush();
        return new Running(server, pipeline, clipModel);
    }

    /** The CLIP for prompts: --clip, else the shipped emoji CLIP when present; null for none. */
    private Path clipFolder() throws IOException {
        if ("none".equals(clip)) {
            return null;
        }
        if (clip == null) {
            Path home = KitHome.find();
            Path shipped = home == null ? null : home.resolve(diffusionkit.guidance.ClipGuidance.DEFAULT_FOLDER);
            return shipped != null && Files.isRegularFile(shipped.resolve("config.json")) ? shipped : null;
        }
        try {
            Path f = Pretrained.clip(clip); // a folder, a kit model name or a hub id (openai/clip-vit-base-patch32)
            ClipModel.checkFolder(f, true);
            return f;
        } catch (IOException e) {
            throw new IllegalArgumentException("--clip: " + e.getMessage(), e);
        }
    }
}
