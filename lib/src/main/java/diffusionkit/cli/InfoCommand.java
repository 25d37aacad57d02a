package diffusionkit.cli;

import ai.djl.engine.Engine;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Command;

/** Prints versions, the engine and the device the kit will use, and why. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Print versions, the engine and the chosen device.")
final class InfoCommand implements Runnable {
    @Override
    public void run() {
        System.out.println(Versions.line());
        Engine e = Engine.getInstance();
        System.out.println("engine: " + e.getEngineName() + " " + e.getVersion() + ", GPUs visible: " + e.getGpuCount());
        System.out.println("device: " + DeviceChoice.explain());
    }
}
