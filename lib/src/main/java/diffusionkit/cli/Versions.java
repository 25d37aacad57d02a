package diffusionkit.cli;

import picocli.CommandLine;

/** Versions of the kit, Java and DJL, for {@code --version} and banners. */
public final class Versions implements CommandLine.IVersionProvider {

    /** The kit's version, from the jar manifest (or "dev" when run from classes). */
    public static String kit() {
        String v = Versions.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /** DJL's version. */
    public static String djl() {
        return ai.djl.engine.Engine.getDjlVersion();
    }

    /** One line: kit, Java, DJL. */
    public static String line() {
        return "diffusion-kit " + kit() + ", Java " + System.getProperty("java.version") + ", DJL " + djl();
    }

    @Override
    public String[] getVersion() {
        return new String[] {line()};
    }
}
