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
                    + "Jupyter starts the kernel this way; install it with environment/install-kernel.sh.");
            System.exit(2);
        }
        Logger.getLogger("").setLevel(Level.WARNING); // basekernel logs every message at INFO
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

    /** An orphaned kernel would keep its memory forever: follow the process that started it. */
    private static void exitWithParent() {
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> {
            ExitGuard.allowExit();
            Runtime.getRuntime().halt(0);
        }));
    }
}
