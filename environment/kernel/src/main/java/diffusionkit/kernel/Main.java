package diffusionkit.kernel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.Logger;

import io.github.spencerpark.jupyter.channels.JupyterConnection;
import io.github.spencerpark.jupyter.kernel.KernelConnectionProperties;

/**
 * Starts the kernel: {@code java -cp <kernel jar>:<lib>/* diffusionkit.kernel.Main <connection file>}, as the
 * kernel.json written by {@code environment/install-kernel.sh} does.
 */
public final class Main {

    private Main() {
    }

    /**
     * Connects to Jupyter and serves until a shutdown request or until the parent process (the notebook server,
     * nbclient...) dies.
     *
     * @param args the connection file Jupyter wrote
     * @throws Exception when the connection file cannot be read or the sockets cannot be bound
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java -cp <kernel classpath> diffusionkit.kernel.Main <connection-file.json>\n"
                    + "       java -XX:ArchiveClassesAtExit=kernel.jsa -cp ... diffusionkit.kernel.Main --warmup\n"
                    + "Jupyter starts the kernel this way; install it with environment/install-kernel.sh.");
            System.exit(2);
        }
        if (args[0].equals("--warmup")) {
            warmUp();
            return;
        }
        Logger.getLogger("").setLevel(Level.WARNING); // basekernel logs every message at INFO
        DjlOffline.Choice djl = DjlOffline.apply(); // before any DJL class loads
        System.err.println("[kernel] DJL offline: " + djl.offline() + " (" + djl.why() + ")");
        KernelConnectionProperties props = KernelConnectionProperties.parse(
                Files.readString(Path.of(args[0]), StandardCharsets.UTF_8));

        JavaKernel kernel = new JavaKernel();
        JupyterConnection connection = new JupyterConnection(props);
        kernel.becomeHandlerForConnection(connection);
        kernel.answerKernelInfo(connection);
        ExitGuard.install();
        exitWithParent();
        connection.connect();
        connection.waitUntilClose();

        kernel.close();
        ExitGuard.allowExit();
        System.exit(0);
    }

    /**
     * Runs a few typical cells without Jupyter and exits: run with {@code -XX:ArchiveClassesAtExit} it writes a class
     * data archive (AppCDS) of the compiler and kernel classes, which cuts the next start-ups by seconds.
     */
    private static void warmUp() throws Exception {
        Logger.getLogger("").setLevel(Level.WARNING);
        try (JavaKernel kernel = new JavaKernel()) {
            kernel.eval("1 + 1");
            kernel.eval("int square(int x) { return x * x; }\nString s = \"x\" + square(3);\ns.length()");
            kernel.eval("var img = new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_INT_RGB);"
                    + "\nimg");
            kernel.complete("Math.ma", 7);
            kernel.isComplete("for (int i = 0; i < 3; i++) {");
        }
        System.exit(0);
    }

    /** An orphaned kernel would keep its memory forever: follow the process that started it. */
    private static void exitWithParent() {
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> {
            ExitGuard.allowExit();
            Runtime.getRuntime().halt(0);
        }));
    }
}
