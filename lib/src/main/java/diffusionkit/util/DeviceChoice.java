package diffusionkit.util;

import ai.djl.Device;
import ai.djl.engine.Engine;

import java.util.Locale;

/**
 * Decides on which device the kit creates its arrays and models: the GPU when DJL sees one, else the CPU.
 *
 * <p>The choice can be forced by the system property {@code diffusionkit.device} or the environment
 * variable {@code DIFFUSIONKIT_DEVICE} (property first), each one of {@code auto}, {@code cpu},
 * {@code gpu} or {@code gpu:N}. {@link #explain()} says what was chosen and why, so a notebook can print it.
 */
public final class DeviceChoice {

    /** System property that forces the device. */
    public static final String PROPERTY = "diffusionkit.device";
    /** Environment variable that forces the device when the property is absent. */
    public static final String ENV = "DIFFUSIONKIT_DEVICE";

    private static volatile Decision cached;

    private DeviceChoice() {}

    /** The device and the reason for it. */
    public record Decision(Device device, String reason) {
        @Override
        public String toString() {
            return device + " (" + reason + ")";
        }
    }

    /** The device everything in the kit should use. */
    public static Device device() {
        return decision().device();
    }

    /** A sentence saying which device was chosen and why. */
    public static String explain() {
        return decision().toString();
    }

    /** The decision, made once per JVM from the property, the environment and the GPUs DJL sees. */
    public static Decision decision() {
        Decision d = cached;
        if (d == null) {
            synchronized (DeviceChoice.class) {
                if (cached == null) {
                    cached = decide(System.getProperty(PROPERTY), System.getenv(ENV),
                            Engine.getInstance().getGpuCount());
                }
                d = cached;
            }
        }
        return d;
    }

    /**
     * The pure decision rule, testable without a GPU.
     *
     * @param property the value of {@value #PROPERTY}, or null
     * @param env the value of {@value #ENV}, or null
     * @param gpuCount how many GPUs the engine sees
     */
    public static Decision decide(String property, String env, int gpuCount) {
        String source;
        String wanted;
        if (property != null && !property.isBlank()) {
            source = "system property " + PROPERTY;
            wanted = property;
        } else if (env != null && !env.isBlank()) {
            source = "environment variable " + ENV;
            wanted = env;
        } else {
            source = null;
            wanted = "auto";
        }
        String w = wanted.trim().toLowerCase(Locale.ROOT);
        if (w.equals("auto")) {
            String prefix = source == null ? "" : source + "=auto: ";
            return gpuCount > 0
                    ? new Decision(Device.gpu(), prefix + "DJL sees " + gpuCount + " GPU(s)")
                    : new Decision(Device.cpu(), prefix + "no GPU visible to DJL");
        }
        if (w.equals("cpu")) {
            return new Decision(Device.cpu(), source + "=" + wanted);
        }
        if (w.equals("gpu") || w.equals("cuda") || w.matches("(gpu|cuda):\\d+")) {
            int id = w.contains(":") ? Integer.parseInt(w.substring(w.indexOf(':') + 1)) : 0;
            if (id >= gpuCount) {
                throw new IllegalStateException(source + "=" + wanted + " asks for GPU " + id + " but DJL sees "
                        + gpuCount + " GPU(s). Use " + ENV + "=cpu, or install the CUDA natives "
                        + "(build with -Pgpu, see environment/GPU.md).");
            }
            return new Decision(Device.gpu(id), source + "=" + wanted);
        }
        throw new IllegalArgumentException(source + "='" + wanted + "' is not a device: use auto, cpu, gpu or gpu:N");
    }
}
