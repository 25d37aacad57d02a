package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The installed layout, after {@code package}: {@code install-kernel.sh --no-build --no-jupyter --prefix DIR}
 * registers the shaded kernel jar, lib/ and the class data archive under DIR, and that kernel answers {@code 1 + 1}.
 * Runs in the {@code integration-test} phase (a second surefire execution for the tag {@code installed}, see the
 * pom), because the shaded jar does not exist yet when the other tests run.
 */
@Tag("installed")
@Notebooks
class InstalledKernelIT {

    private static final String NAME = "java-installed-test";

    @Test
    void installKernelShWritesAKernelThatAnswers() throws Exception {
        Jupyter jupyter = new Jupyter();
        Path root = Path.of(System.getProperty("kernel.repoRoot", "../..")).toRealPath();
        Path dist = Path.of(System.getProperty("kernel.dist", "target/kernel")).toAbsolutePath();
        Path prefix = jupyter.workDir.resolve("installed").toAbsolutePath();
        // the installed kernel runs `java` from the PATH: make that this test's Java, so the flags are predictable
        String javaBin = Path.of(System.getProperty("java.home"), "bin").toString();
        String path = javaBin + java.io.File.pathSeparator + System.getenv("PATH");

        long t0 = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("environment/install-kernel.sh").toString(),
                "--no-build", "--no-jupyter", "--prefix", prefix.toString(), "--name", NAME)
                .directory(root.toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", path);
        Process install = pb.start();
        install.getOutputStream().close();
        String log = new String(install.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(install.waitFor(5, TimeUnit.MINUTES), "install-kernel.sh did not finish:\n" + log);
        assertEquals(0, install.exitValue(), "install-kernel.sh failed:\n" + log);
        System.out.printf("install-kernel.sh --no-build: %.1f s%n", (System.nanoTime() - t0) / 1e9);

        Path kernelJson = prefix.resolve("share/jupyter/kernels").resolve(NAME).resolve("kernel.json");
        JsonObject spec = JsonParser.parseString(Files.readString(kernelJson)).getAsJsonObject();
        List<String> argv = new ArrayList<>();
        for (JsonElement e : spec.getAsJsonArray("argv")) {
            argv.add(e.getAsString());
        }
        assertEquals("java", argv.get(0), "java from the PATH: " + argv);
        assertEquals("message", spec.get("interrupt_mode").getAsString());
        String classpath = argv.get(argv.indexOf("-cp") + 1);
        assertEquals(dist.resolve("diffusion-kit-kernel.jar") + java.io.File.pathSeparator + dist.resolve("lib") + "/*",
                classpath);
        for (String flag : Jupyter.JVM_FLAGS) {
            assertTrue(argv.contains(flag), flag + " in " + argv);
        }
        assertEquals(Runtime.version().feature() <= 23, argv.contains("-Djava.security.manager=allow"),
                "the security manager flag only for Java 17 to 23: " + argv);
        assertTrue(argv.contains("-XX:SharedArchiveFile=" + dist.resolve("kernel.jsa")), "the archive: " + argv);
        assertTrue(Files.size(dist.resolve("kernel.jsa")) > 1_000_000, "a class data archive was written");
        assertEquals(List.of("diffusionkit.kernel.Main", "{connection_file}"), argv.subList(argv.size() - 2,
                argv.size()));

        Jupyter.Run run = jupyter.python(List.of("installed_kernel.py", NAME), 300,
                Map.of("JUPYTER_PATH", prefix.resolve("share/jupyter").toString(), "PATH", path));
        assertEquals(0, run.exitCode, "installed_kernel.py failed:\n" + run.output);
        String[] lines = run.output.strip().split("\n");
        JsonObject report = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        System.out.println("installed kernel: " + report);
        assertEquals(kernelJson.getParent().toRealPath(), Path.of(report.get("resource_dir").getAsString())
                .toRealPath(), "Jupyter found the kernelspec under the prefix");
        assertEquals("ok", report.get("status").getAsString());
        JsonArray result = report.getAsJsonArray("result");
        assertEquals("[\"2\"]", result.toString());
        String banner = report.get("banner").getAsString();
        assertTrue(banner.contains(" | DJL " + System.getProperty("kernel.djlVersion") + " | diffusion-kit "
                + System.getProperty("kernel.kitVersion") + "\n"), "DJL from lib/, the kit's version from the shaded"
                + " jar: " + banner);
    }
}
