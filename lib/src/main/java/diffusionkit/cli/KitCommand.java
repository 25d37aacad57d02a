package diffusionkit.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import diffusionkit.util.DeviceChoice;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** What every {@code ./kit} command has: its picocli spec and the usage errors that name the option and the fix. */
abstract class KitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** A usage error (exit code 2, the message and no stack trace). */
    ParameterException bad(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** Checks a positive integer option. */
    void positive(String option, long value) {
        if (value <= 0) {
            throw bad(option + " must be positive, got " + value);
        }
    }

    /** Checks a non-negative integer option. */
    void nonNegative(String option, long value) {
        if (value < 0) {
            throw bad(option + " must be 0 (off) or positive, got " + value);
        }
    }

    /** The device a {@code --device} value names: auto (the kit's choice, see {@link DeviceChoice}), cpu or gpu[:n]. */
    Device device(String value) {
        String d = value.trim().toLowerCase(Locale.ROOT);
        if (d.equals("auto")) {
            return DeviceChoice.device();
        }
        if (!List.of("cpu", "gpu", "cuda").contains(d) && !d.matches("(gpu|cuda):\\d+")) {
            throw bad("--device '" + value + "' is not a device: use auto, cpu or gpu");
        }
        return DeviceChoice.decide(d, null, Engine.getInstance().getGpuCount()).device();
    }
}
