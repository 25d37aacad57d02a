package diffusionkit.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Whether DJL may use the network in the kernel ({@code ai.djl.offline}), decided once at start-up, before any DJL
 * class is loaded:
 * <ol>
 *   <li>the environment variable {@code DJL_OFFLINE} ({@code true}/{@code false}; the same one {@code ./kit} reads),
 *       as set for the notebook server or in kernel.json's {@code env};</li>
 *   <li>else {@code -Dai.djl.offline=...} on the kernel's command line;</li>
 *   <li>else offline only when this machine has no network configured (no default route in
 *       {@code /proc/net/route} or {@code /proc/net/ipv6_route}): on Colab or a laptop, DJL may fetch an engine or
 *       the CUDA natives; on an air-gapped machine it does not wait for a network that is not there.</li>
 * </ol>
 * With the CPU natives in the kit's jars DJL fetches nothing either way.
 */
final class DjlOffline {

    static final String PROPERTY = "ai.djl.offline";
    static final String ENV = "DJL_OFFLINE";

    private DjlOffline() {
    }

    /** The decision and why, for the kernel's log. */
    record Choice(boolean offline, String why) {}

    /** Sets {@code ai.djl.offline} for this process; returns what was chosen and why. */
    static Choice apply() {
        Choice c = decide(System.getenv(ENV), System.getProperty(PROPERTY),
                read(Path.of("/proc/net/route")), read(Path.of("/proc/net/ipv6_route")));
        System.setProperty(PROPERTY, Boolean.toString(c.offline()));
        return c;
    }

    static Choice decide(String env, String property, List<String> route, List<String> ipv6Route) {
        if (env != null && !env.isBlank()) {
            String v = env.strip().toLowerCase(Locale.ROOT);
            if (!v.equals("true") && !v.equals("false")) {
                throw new IllegalArgumentException(ENV + "=" + env + ": give true or false");
            }
            return new Choice(v.equals("true"), ENV + "=" + v);
        }
        if (property != null && !property.isBlank()) {
            return new Choice(Boolean.parseBoolean(property.strip()), "-D" + PROPERTY + "=" + property.strip());
        }
        if (route == null && ipv6Route == null) {
            return new Choice(false, "no /proc/net/route to look at: network assumed");
        }
        boolean net = hasDefaultRoute(route, 1, "00000000") || hasDefaultRoute(ipv6Route, 0,
                "00000000000000000000000000000000");
        return new Choice(!net, net ? "a default network route is configured" : "no default network route");
    }

    /** A default route on an interface other than the loopback (the destination column is all zeros). */
    private static boolean hasDefaultRoute(List<String> lines, int destColumn, String zero) {
        if (lines == null) {
            return false;
        }
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length > destColumn && f[destColumn].equals(zero)) {
                String iface = destColumn == 1 ? f[0] : f[f.length - 1];
                boolean prefixZero = destColumn == 1 || (f.length > 1 && f[1].equals("00"));
                if (!iface.equals("lo") && prefixZero) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<String> read(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
