package diffusionkit.cli;

import ai.djl.engine.Engine;
import picocli.CommandLine;

/** Versions of the kit, Java and DJL, for {@code --version} and banners. */
public final class Versions implements CommandLine.IVersionProvider {

    /** One line: the kit (from the jar manifest, "dev" when run from classes), Java, DJL. */
    public static String line() {
        String kit = Versions.class.getPackage().getImplementationVersion();
        return "diffusion-kit " + (kit != null ? kit : "dev") + ", Java " + System.getProperty("java.version") + ", DJL "
                + Engine.getDjlVersion();
    }

    @Override
    public String[] getVersion() {
        return new String[] {line()};
    }
}
