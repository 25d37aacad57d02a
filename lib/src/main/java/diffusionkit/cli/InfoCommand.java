package diffusionkit.cli;

import ai.djl.engine.Engine;
import diffusionkit.util.Convolutions;
import diffusionkit.util.CpuInfo;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Command;

/**
 * Prints versions, the engine and the device the kit will use and why, the CPU (model and vector extensions) and
 * whether its PyTorch natives compute right convolution gradients ({@link Convolutions#nativeDefect()}), and whether
 * the process runs with the kit's glibc allocator settings ({@link diffusionkit.util.MallocSettings}).
 */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Print versions, the engine, the chosen device, the CPU and the convolution self-check.")
final class InfoCommand implements Runnable {
    @Override
    public void run() {
        System.out.println(Versions.line());
        Engine e = Engine.getInstance();
        System.out.println("engine: " + e.getEngineName() + " " + e.getVersion() + ", GPUs visible: " + e.getGpuCount());
        System.out.println("device: " + DeviceChoice.explain());
        System.out.println(CpuInfo.describe());
        System.out.println(Convolutions.describe());
        System.out.println(diffusionkit.util.MallocSettings.describe());
        System.out.println(diffusionkit.models.FusedOps.describe());
        System.out.println("Hugging Face Hub: " + diffusionkit.hub.HubSettings.fromEnvironment().describe());
    }
}
