package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

/**
 * Test helper: a kernelspec for the kernel under test (target/classes + the runtime class path, the same JVM flags
 * as environment/install-kernel.sh plus a 2 GB heap cap) and a way to run the Python tools against it.
 */
final class Jupyter {

    /** The interpreter with Jupyter's modules: Debian's, not the first python3 on the PATH. */
    static final String PYTHON = System.getenv().getOrDefault("KERNEL_TEST_PYTHON", "/usr/bin/python3");

    /** The same flags as environment/install-kernel.sh writes into kernel.json for this Java version. */
    static final List<String> JVM_FLAGS = jvmFlags(Runtime.version().feature());

    /**
     * The kernel's flags for a Java feature version: {@code -Djava.security.manager=allow} (the System.exit guard)
     * only on Java 17 to 23, because from Java 24 on the flag stops the JVM at start-up.
     */
    static List<String> jvmFlags(int javaFeature) {
        List<String> flags = new ArrayList<>(List.of("-XX:+UseSerialGC"));
        if (javaFeature <= 23) {
            flags.add("-Djava.security.manager=allow");
        }
        return List.copyOf(flags);
    }

    final Path workDir = Path.of(System.getProperty("kernel.workDir", "target/kernel-tests"));
    final Path pythonDir = Path.of(System.getProperty("kernel.pythonDir", "src/test/python"));
    final Path jupyterPath = workDir.resolve("jupyter");

    /** The result of a Python tool run. */
    static final class Run {
        final int exitCode;
        final String output;

        Run(int exitCode, String output) {
            this.exitCode = exitCode;
            this.output = output;
        }
    }

    /** Checks the Python side and writes the kernelspec; fails (never skips) with the fix when Jupyter is missing. */
    Jupyter() throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        Run check = python(List.of("-c", "import jupyter_client, nbclient, nbformat, jupyter_kernel_test"), 60);
        if (check.exitCode != 0) {
            fail("Jupyter is missing for the kernel tests (" + PYTHON + " cannot import jupyter_client, nbclient,"
                    + " nbformat, jupyter_kernel_test): run `sudo environment/install-test-deps.sh`, or set"
                    + " KERNEL_TEST_PYTHON to an interpreter that has them.\n" + check.output);
        }
        writeKernelSpec();
    }

    private void writeKernelSpec() throws IOException {
        String classes = System.getProperty("kernel.classes", "target/classes");
        String runtime = Files.readString(Path.of(System.getProperty("kernel.classpathFile",
                "target/kernel-runtime.classpath"))).strip();
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("-Xmx2g");
        argv.addAll(JVM_FLAGS);
        argv.addAll(List.of("-cp", Path.of(classes).toAbsolutePath() + java.io.File.pathSeparator + runtime,
                "diffusionkit.kernel.Main", "{connection_file}"));
        Gson gson = new GsonBuilder().setPrettyPrinting().create();
        var spec = new java.util.LinkedHashMap<String, Object>();
        spec.put("argv", argv);
        spec.put("display_name", "Java (diffusion-kit, test build)");
        spec.put("language", "java");
        spec.put("interrupt_mode", "message");
        spec.put("env", java.util.Map.of("MALLOC_ARENA_MAX", "1", "MALLOC_MMAP_MAX_", "0", "MALLOC_TRIM_THRESHOLD_", "68719476736",
                "MALLOC_TOP_PAD_", "1073741824"));
        Path dir = jupyterPath.resolve("kernels").resolve("java");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("kernel.json"), gson.toJson(spec), StandardCharsets.UTF_8);
    }

    /** Runs a script from src/test/python (or {@code -c}/{@code -m} arguments) with this kernelspec first. */
    Run python(List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        return python(args, timeoutSeconds, java.util.Map.of());
    }

    /** As {@link #python(List, long)}, with extra environment variables (the kernels it starts inherit them). */
    Run python(List<String> args, long timeoutSeconds, java.util.Map<String, String> env)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(PYTHON);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(pythonDir.toFile()).redirectErrorStream(true);
        pb.environment().put("JUPYTER_PATH", jupyterPath.toAbsolutePath().toString());
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        pb.environment().putAll(env);
        Process process;
        try {
            process = pb.start();
        } catch (IOException ex) {
            fail("cannot start " + PYTHON + " (" + ex.getMessage() + "): run `sudo environment/install-test-deps.sh`"
                    + " or set KERNEL_TEST_PYTHON");
            throw ex;
        }
        process.getOutputStream().close();
        Path log = Files.createTempFile(workDir, "python", ".log");
        Thread reader = new Thread(() -> {
            try {
                Files.copy(process.getInputStream(), log, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException ignored) {
                // the process was killed
            }
        });
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            reader.join(5000);
            fail("timed out after " + timeoutSeconds + " s: " + cmd + "\n" + Files.readString(log));
        }
        reader.join();
        String output = Files.readString(log);
        Files.delete(log);
        return new Run(process.exitValue(), output);
    }
}
