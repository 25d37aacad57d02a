package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One kernel driven through jupyter_client (src/test/python/kernel_session.py): the kernel_info banner, recovery after
 * an exception, bounded memory over 50 big allocations, interrupt of an endless loop, {@code %maven} of an artifact
 * that only Maven Central has, and the start-up time (printed, not asserted).
 */
@Notebooks
class KernelSessionTest {

    /** The artifacts the online %maven cell fetches: never in the kernel's local repository, whatever ~/.m2 holds. */
    private static final String ONLINE_ARTIFACTS = "org/apache/commons/commons-rng";

    private static JsonObject report;
    private static Path mavenRepo;

    @BeforeAll
    static void runSession() throws Exception {
        Jupyter jupyter = new Jupyter();
        mavenRepo = jupyter.workDir.resolve("maven-repo").toAbsolutePath();
        long t0 = System.nanoTime();
        int links = mirrorLocalRepository(Path.of(System.getProperty("kernel.localRepository",
                System.getProperty("user.home") + "/.m2/repository")), mavenRepo);
        System.out.printf("local repository for %%maven: %s (%d linked versions, %.1f s)%n", mavenRepo, links,
                (System.nanoTime() - t0) / 1e9);
        Jupyter.Run run = jupyter.python(List.of("kernel_session.py"), 900,
                Map.of(MavenResolver.LOCAL_REPOSITORY_ENV, mavenRepo.toString()));
        assertEquals(0, run.exitCode, "kernel_session.py failed:\n" + run.output);
        String[] lines = run.output.strip().split("\n");
        report = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        System.out.println("kernel session report: " + report);
    }

    /**
     * Makes {@code mirror} a local Maven repository that sees every artifact version of {@code local} (a symbolic
     * link per version folder, so mvn finds its dependency plugin offline) except {@link #ONLINE_ARTIFACTS}: those
     * must come from the network, and what mvn downloads lands in the mirror's own folders, never in {@code local}.
     */
    static int mirrorLocalRepository(Path local, Path mirror) throws IOException {
        if (Files.exists(mirror)) {
            try (var walk = Files.walk(mirror)) { // links are deleted, not followed
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(mirror);
        int[] links = {0};
        Files.walkFileTree(local, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                String rel = local.relativize(dir).toString().replace('\\', '/');
                if (rel.startsWith(ONLINE_ARTIFACTS)) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                Path target = mirror.resolve(local.relativize(dir).toString());
                Path parent = dir.getParent();
                boolean versionFolder = parent != null && Files.exists(dir.resolve(
                        parent.getFileName() + "-" + dir.getFileName() + ".pom"));
                if (versionFolder) {
                    Files.createSymbolicLink(target, dir);
                    links[0]++;
                    return FileVisitResult.SKIP_SUBTREE;
                }
                Files.createDirectories(target);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                // metadata beside the version folders: copied, so that mvn may rewrite it without touching `local`
                Files.copy(file, mirror.resolve(local.relativize(file).toString()));
                return FileVisitResult.CONTINUE;
            }
        });
        return links[0];
    }

    private static JsonArray cell(String name) {
        return report.getAsJsonArray(name);
    }

    @Test
    void startUpTimeIsMeasured() {
        double seconds = report.get("startup_seconds").getAsDouble();
        System.out.printf("kernel start to first result: %.2f s (ready after %.2f s)%n", seconds,
                report.get("ready_seconds").getAsDouble());
        assertEquals("ok", cell("first").get(0).getAsString());
        assertEquals("2", cell("first").get(1).getAsString());
    }

    @Test
    void theBannerNamesTheJavaDjlAndKitVersions() {
        String banner = report.get("banner").getAsString();
        assertTrue(banner.startsWith("Java " + Runtime.version() + " "), "the kernel runs on this test's JVM: " + banner);
        assertTrue(banner.contains(" | DJL " + System.getProperty("kernel.djlVersion") + " | "),
                "DJL's version from the parent pom: " + banner);
        assertTrue(banner.contains(" | diffusion-kit " + System.getProperty("kernel.kitVersion") + "\n"),
                "the kit's version from the pom: " + banner);
    }

    @Test
    void mavenResolvesAnArtifactAndItsDependencyFromMavenCentral() throws Exception {
        JsonArray magic = cell("maven_central");
        String hint = "this test needs Maven Central (it downloads org.apache.commons:commons-rng-core:1.5 and its"
                + " dependency commons-rng-client-api into " + mavenRepo + "): ";
        assertEquals("ok", magic.get(0).getAsString(), hint + magic);
        String log = magic.get(3).getAsString();
        assertTrue(log.contains("%maven: not all in " + mavenRepo + ", resolving online..."),
                "the offline try failed first: " + log);
        assertTrue(log.contains("%maven: added 2 jar(s) for org.apache.commons:commons-rng-core:1.5"), log);

        // SplitMix64 (Steele, Lea and Flood 2014; Vigna's reference code): the first output for the seed 42
        long state = 42L + 0x9e3779b97f4a7c15L;
        long z = (state ^ (state >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        assertEquals(Long.toString(z ^ (z >>> 31)), cell("maven_value").get(1).getAsString());

        // a class of the dependency, loaded from the jar mvn downloaded into the redirected local repository
        Path versionDir = mavenRepo.resolve("org/apache/commons/commons-rng-client-api/1.5");
        Path jar = versionDir.resolve("commons-rng-client-api-1.5.jar");
        assertEquals(jar.toString(), cell("maven_dependency_jar").get(1).getAsString());
        assertTrue(Files.isRegularFile(jar) && !Files.isSymbolicLink(versionDir), "downloaded, not linked: " + jar);
    }

    @Test
    void aCellThatThrowsLeavesTheKernelAlive() {
        assertEquals("error", cell("throw").get(0).getAsString());
        assertEquals("RuntimeException: boom", cell("throw").get(2).getAsJsonArray().get(0).getAsString());
        assertEquals("ok", cell("after_exception").get(0).getAsString());
        assertEquals("42", cell("after_exception").get(1).getAsString());
    }

    @Test
    void memoryStaysBoundedOverFiftyHundredMegabyteArrays() {
        double before = report.get("heap_before_mb").getAsDouble();
        double after = report.get("heap_after_mb").getAsDouble();
        System.out.printf("used heap before %.0f MB, after 50 x 100 MB: %.0f MB; RSS %.0f -> %.0f MB%n", before,
                after, report.get("rss_before_mb").getAsDouble(), report.get("rss_after_mb").getAsDouble());
        assertEquals("[\"ok\"]", report.get("allocation_statuses").toString(), "every allocation cell succeeded");
        // the last array is still referenced by `big` (100 MB); nothing older may be
        assertTrue(after - before < 100 + 60, "used heap grew by " + (after - before) + " MB");
    }

    @Test
    void theKernelExitsWhenItsParentDies() throws Exception {
        Jupyter.Run run = new Jupyter().python(List.of("orphan.py"), 200);
        assertEquals(0, run.exitCode, "orphan.py failed:\n" + run.output);
        String[] lines = run.output.strip().split("\n");
        long pid = Long.parseLong(lines[lines.length - 1].strip());
        java.util.Optional<ProcessHandle> kernel = ProcessHandle.of(pid);
        if (kernel.isPresent()) {
            // waits for the exit, with a deadline (no sleep): the kernel follows its parent within a second or two
            kernel.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertTrue(ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true), "kernel " + pid + " still runs");
    }

    @Test
    void anEndlessLoopIsInterruptedAndTheKernelStillAnswers() {
        assertEquals("error", cell("loop").get(0).getAsString());
        assertEquals("InterruptedException: the cell was interrupted",
                cell("loop").get(2).getAsJsonArray().get(0).getAsString());
        assertTrue(report.get("loop_seconds").getAsDouble() < 30, "the interrupt took effect");
        assertEquals("still here", cell("after_interrupt").get(1).getAsString());
    }
}
