package diffusionkit.kernel;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Resolves {@code %maven group:artifact:version} to jars, with their dependencies.
 *
 * <p>When {@code mvn} is on the PATH it does the work (full Maven semantics, the user's settings and mirrors):
 * first offline from the local repository, then, if that fails, online. Without {@code mvn} only the named jars
 * themselves are taken from the local repository, and the message says so.
 *
 * <p>The local repository is {@code ~/.m2/repository}, or the folder named by the environment variable
 * {@value #LOCAL_REPOSITORY_ENV} of the kernel process (passed to {@code mvn} as {@code -Dmaven.repo.local}; without
 * it {@code mvn} uses its own setting, {@code ~/.m2/repository} unless {@code settings.xml} names another).
 */
final class MavenResolver {

    /** The dependency plugin the root pom pins; it is in ~/.m2 after the kit's own build. */
    static final String DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
    /** The environment variable that moves the local repository away from {@code ~/.m2/repository}. */
    static final String LOCAL_REPOSITORY_ENV = "KIT_MAVEN_REPO_LOCAL";
    private static final long TIMEOUT_MIN = 10;

    private MavenResolver() {
    }

    /** A coordinate: {@code group:artifact:version}, {@code group:artifact:type:version} or with a classifier. */
    static final class Coordinate {
        final String group;
        final String artifact;
        final String type;
        final String classifier;
        final String version;

        private Coordinate(String group, String artifact, String type, String classifier, String version) {
            this.group = group;
            this.artifact = artifact;
            this.type = type;
            this.classifier = classifier;
            this.version = version;
        }

        /** A coordinate from its parts; {@code type} null is a jar, {@code classifier} null is none. */
        static Coordinate of(String group, String artifact, String type, String classifier, String version) {
            return new Coordinate(group, artifact, type == null ? "jar" : type, classifier, version);
        }

        static Coordinate parse(String text) {
            String[] p = text.trim().split(":");
            switch (p.length) {
                case 3: return new Coordinate(p[0], p[1], "jar", null, p[2]);
                case 4: return new Coordinate(p[0], p[1], p[2], null, p[3]);
                case 5: return new Coordinate(p[0], p[1], p[2], p[3], p[4]);
                default:
                    throw new IllegalArgumentException("'" + text + "' is not a Maven coordinate: write"
                            + " group:artifact:version, for example %maven org.apache.commons:commons-math3:3.6.1");
            }
        }

        String dependencyXml() {
            return "<dependency><groupId>" + group + "</groupId><artifactId>" + artifact + "</artifactId><version>"
                    + version + "</version><type>" + type + "</type>"
                    + (classifier == null ? "" : "<classifier>" + classifier + "</classifier>") + "</dependency>";
        }

        Path localJar(Path repository) {
            return repository.resolve(group.replace('.', '/')).resolve(artifact).resolve(version)
                    .resolve(artifact + "-" + version + (classifier == null ? "" : "-" + classifier) + "." + type);
        }

        @Override
        public String toString() {
            return group + ":" + artifact + ":" + version;
        }
    }

    /**
     * Resolves the coordinates to jar paths.
     *
     * @param coordinates Maven coordinates
     * @param repositories extra remote repositories as {id, url} pairs (from {@code %mavenRepo})
     * @param log where progress messages go (the cell's stderr)
     * @return the jars, dependencies included when {@code mvn} is available
     * @throws IOException when a coordinate cannot be resolved; the message names it and the fix
     */
    static List<Path> resolve(List<String> coordinates, List<String[]> repositories, java.io.PrintStream log)
            throws IOException {
        List<Coordinate> coords = new ArrayList<>();
        for (String c : coordinates) {
            coords.add(Coordinate.parse(c));
        }
        return resolvePom(coords, repositories, log);
    }

    /** As {@link #resolve}, for coordinates already parsed (a POM's dependencies: {@code %loadFromPOM}). */
    static List<Path> resolvePom(List<Coordinate> coords, List<String[]> repositories, java.io.PrintStream log)
            throws IOException {
        String override = System.getenv(LOCAL_REPOSITORY_ENV);
        Path repository = localRepository(override);
        Path repoFlag = override == null || override.isBlank() ? null : repository; // null: mvn's own setting
        Optional<Path> mvn = findOnPath("mvn");
        if (mvn.isEmpty()) {
            return localJarsOnly(coords, repository, log);
        }
        Path dir = Files.createTempDirectory("kernel-maven");
        try {
            StringBuilder pom = new StringBuilder("<project><modelVersion>4.0.0</modelVersion>"
                    + "<groupId>diffusionkit.kernel</groupId><artifactId>maven-magic</artifactId>"
                    + "<version>1</version><repositories>");
            for (String[] repo : repositories) {
                pom.append("<repository><id>").append(Renderers.escape(repo[0])).append("</id><url>")
                        .append(Renderers.escape(repo[1]))
                        .append("</url></repository>");
            }
            pom.append("</repositories><dependencies>");
            coords.forEach(c -> pom.append(c.dependencyXml()));
            pom.append("</dependencies></project>");
            Files.writeString(dir.resolve("pom.xml"), pom, StandardCharsets.UTF_8);
            Path out = dir.resolve("classpath.txt");
            String failure = runMaven(mvn.get(), dir, out, repoFlag, true);
            if (failure != null) {
                log.println("%maven: not all in " + repository + ", resolving online...");
                failure = runMaven(mvn.get(), dir, out, repoFlag, false);
            }
            if (failure != null) {
                throw new IOException("%maven could not resolve " + coords + ": " + failure.strip()
                        + "\nCheck the coordinates and that you are online (or put the jars in " + repository + ").");
            }
            List<Path> jars = new ArrayList<>();
            for (String entry : Files.readString(out).strip().split(File.pathSeparator)) {
                if (!entry.isBlank()) {
                    jars.add(Path.of(entry));
                }
            }
            return jars;
        } finally {
            deleteQuietly(dir);
        }
    }

    /**
     * The local repository: {@code ~/.m2/repository}, or the folder an environment variable names.
     *
     * @param override the value of {@value #LOCAL_REPOSITORY_ENV}, or {@code null}
     * @return the folder, absolute
     * @throws IllegalArgumentException when the override names something that is not a folder
     */
    static Path localRepository(String override) {
        if (override == null || override.isBlank()) {
            return Path.of(System.getProperty("user.home"), ".m2", "repository");
        }
        Path dir = Path.of(override).toAbsolutePath();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(LOCAL_REPOSITORY_ENV + "=" + override + " is not a folder: set it to"
                    + " the folder %maven should use as its local Maven repository, or unset it for ~/.m2/repository");
        }
        return dir;
    }

    /** Runs mvn's build-classpath; {@code repository} is the local repository, or {@code null} for mvn's own. */
    private static String runMaven(Path mvn, Path dir, Path out, Path repository, boolean offline)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(mvn.toString(), "-q", "-B"));
        if (repository != null) {
            cmd.add("-Dmaven.repo.local=" + repository);
        }
        if (offline) {
            cmd.add("-o");
        }
        cmd.addAll(List.of("-f", dir.resolve("pom.xml").toString(), DEPENDENCY_PLUGIN + ":build-classpath",
                "-Dmdep.includeScope=runtime", "-Dmdep.outputFile=" + out));
        Process process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        try {
            if (!process.waitFor(TIMEOUT_MIN, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return "mvn took longer than " + TIMEOUT_MIN + " minutes";
            }
        } catch (InterruptedException ex) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return process.exitValue() == 0 && Files.exists(out) ? null : new String(output, StandardCharsets.UTF_8);
    }

    private static List<Path> localJarsOnly(List<Coordinate> coords, Path repository, java.io.PrintStream log)
            throws IOException {
        List<Path> jars = new ArrayList<>();
        for (Coordinate c : coords) {
            Path jar = c.localJar(repository);
            if (!Files.isRegularFile(jar)) {
                throw new IOException("%maven: " + c + " is not in " + repository + " and mvn is not on the PATH."
                        + " Install Maven (then %maven resolves online with dependencies) or add the jar with %jars.");
            }
            jars.add(jar);
        }
        log.println("%maven: mvn is not on the PATH, so only the named jars were added (no dependencies).");
        return jars;
    }

    static Optional<Path> findOnPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static void deleteQuietly(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
