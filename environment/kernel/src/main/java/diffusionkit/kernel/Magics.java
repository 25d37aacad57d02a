package diffusionkit.kernel;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * IJava's line magics: a line of a cell that starts with {@code %} runs here instead of in JShell, in order with
 * the Java code around it.
 * <ul>
 *   <li>{@code %classpath} prints the class path; {@code %classpath a.jar dir/} adds paths (globs allowed)</li>
 *   <li>{@code %jars lib/*.jar} adds jars (globs allowed)</li>
 *   <li>{@code %maven group:artifact:version ...} adds a Maven artifact and its dependencies</li>
 *   <li>{@code %addMavenRepo id url} ({@code %mavenRepo}) adds a remote repository for the next {@code %maven}</li>
 *   <li>{@code %load file} runs a file of snippets as if it were a cell ({@code .jsh}, {@code .jshell}, {@code .java},
 *       {@code .ijava} or {@code .ipynb} appended when the name has none; a notebook runs its code cells)</li>
 *   <li>{@code %loadFromPOM pom.xml [scopes]} and the cell magic {@code %%loadFromPOM} (a POM or loose
 *       {@code <dependency>} / {@code <repository>} elements) add the dependencies of a POM</li>
 * </ul>
 * IJava's aliases work too: {@code %addClasspath}, {@code %addJars}, {@code %addMavenDependency},
 * {@code %addMavenDependencies}.
 */
final class Magics {

    /** What the magics need from the kernel. */
    interface Host {
        /** Adds a jar or folder to the compile and run class path of the snippets. */
        void addToClasspath(Path path);

        /** The class path snippets compile against. */
        List<String> classpath();

        /** Evaluates code as a cell; returns the value of its trailing expression or {@code null}. */
        Object evalCell(String code) throws Exception;

        /** The jar or folder whose classes win over those of a jar just added (the kernel's own copy), or null. */
        default Path shadowedBy(Path jar) {
            return null;
        }

        /** Puts the notebook's jars before the kernel's own libraries if it still can; whether they now are. */
        default boolean putNotebookJarsFirst() {
            return false;
        }
    }

    private static final Pattern ARG = Pattern.compile("\"([^\"]*)\"|'([^']*)'|(\\S+)");

    private final Host host;
    private final List<String[]> repositories = new ArrayList<>();

    Magics(Host host) {
        this.host = host;
    }

    /** Whether a line of a cell is a line magic. */
    static boolean isMagicLine(String line) {
        String s = line.stripLeading();
        return s.startsWith("%") && s.length() > 1 && Character.isLetter(s.charAt(1));
    }

    /** Whether a cell starts with a cell magic ({@code %%name}). */
    static boolean isCellMagic(String cell) {
        return cell.stripLeading().startsWith("%%");
    }

    /**
     * Runs one magic line.
     *
     * @param line the line, starting with {@code %}
     * @param log where messages go (the cell's output)
     * @return a value to show when the magic is the last line of the cell, or {@code null}
     * @throws Exception when the magic fails; the message names the magic, the argument, and the fix
     */
    @SuppressWarnings("unchecked") // %classpath alone: apply returns the class path, a List<String>
    Object run(String line, PrintStream log) throws Exception {
        List<String> words = split(line.stripLeading().substring(1));
        String name = words.isEmpty() ? "" : words.get(0);
        List<String> args = words.subList(Math.min(1, words.size()), words.size());
        Object value = apply(name, args, log);
        // on a line of its own, only the class path listing is shown (the other values are for lineMagic)
        return (name.equals("classpath") || name.equals("addClasspath")) && args.isEmpty()
                ? String.join("\n", (List<String>) value) : null;
    }

    /**
     * Runs a line magic by name and returns its value, as IJava's {@code lineMagic(name, args)}: the paths added
     * ({@code %jars}, {@code %classpath} with arguments, {@code %maven}, {@code %loadFromPOM}) as a
     * {@code List<String>}, the class path for {@code %classpath} alone, else {@code null}.
     */
    Object apply(String name, List<String> args, PrintStream log) throws Exception {
        switch (name) {
            case "addClasspath":
            case "classpath":
                if (args.isEmpty()) {
                    return List.copyOf(host.classpath());
                }
                return addAll(args, "%classpath", log);
            case "addJars":
            case "jars":
                return addAll(args, "%jars", log);
            case "addMavenRepo":
            case "mavenRepo":
                if (args.size() != 2) {
                    throw new IllegalArgumentException(
                            "%" + name + " takes an id and a URL: %" + name + " my-repo https://...");
                }
                repositories.add(new String[] {args.get(0), args.get(1)});
                return null;
            case "addMavenDependency":
            case "addMavenDependencies":
            case "maven":
                if (args.isEmpty()) {
                    throw new IllegalArgumentException("%maven needs coordinates: %maven group:artifact:version");
                }
                List<Path> jars = MavenResolver.resolve(args, repositories, log);
                jars.forEach(host::addToClasspath);
                log.println("%maven: added " + jars.size() + " jar(s) for " + String.join(" ", args));
                warnShadowed("%maven", jars, log);
                return jars.stream().map(Path::toString).toList();
            case "load":
                if (args.size() != 1) {
                    throw new IllegalArgumentException("%load takes one file of snippets: %load path/to/file.jsh");
                }
                load(args.get(0));
                return null; // as in IJava: what the file defines is there, nothing is shown
            case "loadFromPOM":
                if (args.isEmpty()) {
                    throw new IllegalArgumentException("%loadFromPOM takes a POM file (and optionally the scopes to"
                            + " load): %loadFromPOM path/to/pom.xml; or write the POM fragment under %%loadFromPOM");
                }
                Path pom = expandHome(args.get(0));
                if (!Files.isRegularFile(pom)) {
                    throw new NoSuchFileException(pom.toAbsolutePath().toString(), null, "%loadFromPOM: no such file"
                            + " (paths are relative to " + Path.of("").toAbsolutePath() + ")");
                }
                return addPomDependencies(Files.readString(pom, StandardCharsets.UTF_8), args.subList(1, args.size()), log);
            default:
                throw new IllegalArgumentException("unknown line magic %" + name + ": this kernel has " + LINE_MAGICS);
        }
    }

    /** The line magics, for messages. */
    static final String LINE_MAGICS = "%classpath, %jars, %maven, %addMavenRepo (%mavenRepo), %load and %loadFromPOM";

    /**
     * Runs a cell magic: the cell's first line is {@code %%name args}, the rest its body.
     *
     * @return a value to show, or {@code null}
     */
    Object runCell(String cell, PrintStream log) throws Exception {
        String stripped = cell.stripLeading();
        int eol = stripped.indexOf('\n');
        String header = eol < 0 ? stripped : stripped.substring(0, eol);
        String body = eol < 0 ? "" : stripped.substring(eol + 1);
        List<String> words = split(header.substring(2));
        String name = words.isEmpty() ? "" : words.get(0);
        List<String> args = words.subList(Math.min(1, words.size()), words.size());
        return applyCell(name, args, body, log);
    }

    /** Runs a cell magic by name with its body, as IJava's {@code cellMagic(name, args, body)}. */
    Object applyCell(String name, List<String> args, String body, PrintStream log) throws Exception {
        if (name.equals("loadFromPOM")) {
            return addPomDependencies(body, args, log);
        }
        throw new IllegalArgumentException("unknown cell magic %%" + name + ": this kernel has %%loadFromPOM, and the"
                + " line magics " + LINE_MAGICS);
    }

    /** Resolves the dependencies of a POM or POM fragment ({@link PomFragment}) and adds them to the class path. */
    private List<String> addPomDependencies(String pomText, List<String> scopes, PrintStream log) throws Exception {
        PomFragment pom = PomFragment.parse(pomText, scopes);
        if (pom.dependencies().isEmpty()) {
            throw new IllegalArgumentException("%loadFromPOM: no <dependency> in it" + (scopes.isEmpty() ? ""
                    : " with the scopes " + scopes) + ": paste the <dependency> elements (and any <repository>).");
        }
        List<Path> jars = MavenResolver.resolvePom(pom.dependencies(), pom.repositories(), log);
        jars.forEach(host::addToClasspath);
        warnShadowed("%loadFromPOM", jars, log);
        log.println("%loadFromPOM: added " + jars.size() + " jar(s) for " + pom.dependencies().size()
                + " dependenc" + (pom.dependencies().size() == 1 ? "y" : "ies"));
        return jars.stream().map(Path::toString).toList();
    }

    /**
     * {@code %load}, as IJava resolves it: the file as given; else the name with {@code .jsh}, {@code .jshell},
     * {@code .java}, {@code .ijava} appended; else with {@code .ipynb}. A notebook runs its code cells in order, each
     * as a cell (with its magics); any other file runs as one cell.
     */
    void load(String name) throws Exception {
        Path given = expandHome(name);
        List<Path> tried = new ArrayList<>();
        tried.add(given);
        for (String ext : LOAD_EXTENSIONS) {
            tried.add(given.resolveSibling(given.getFileName() + ext));
        }
        for (Path file : tried) {
            if (Files.isRegularFile(file)) {
                if (file.getFileName().toString().endsWith(".ipynb")) {
                    for (String cell : NotebookCells.codeCells(file)) {
                        host.evalCell(cell);
                    }
                } else {
                    host.evalCell(Files.readString(file, StandardCharsets.UTF_8));
                }
                return;
            }
        }
        throw new NoSuchFileException(given.toAbsolutePath().toString(), null, "%load: no such file, nor with "
                + String.join(", ", LOAD_EXTENSIONS) + " (paths are relative to " + Path.of("").toAbsolutePath() + ")");
    }

    /** What {@code %load name} appends to find a file, in order. */
    static final List<String> LOAD_EXTENSIONS = List.of(".jsh", ".jshell", ".java", ".ijava", ".ipynb");

    private List<String> addAll(List<String> patterns, String magic, PrintStream log) throws IOException {
        if (patterns.isEmpty()) {
            throw new IllegalArgumentException(magic + " needs at least one path, for example " + magic + " lib/*.jar");
        }
        List<String> added = new ArrayList<>();
        for (String pattern : patterns) {
            List<Path> paths = glob(pattern);
            if (paths.isEmpty()) {
                throw new NoSuchFileException(pattern, null, magic + ": nothing matches (relative to "
                        + Path.of("").toAbsolutePath() + ")");
            }
            for (Path p : paths) {
                host.addToClasspath(p.toAbsolutePath());
                added.add(p.toAbsolutePath().toString());
            }
        }
        log.println(magic + ": added " + added.size() + " path(s)");
        warnShadowed(magic, added.stream().map(Path::of).toList(), log);
        return added;
    }

    /**
     * When the kernel carries its own copy of a library among the jars just added (a notebook asking for another
     * version of DJL, Tablesaw, gson or slf4j): puts the notebook's jars first if no Java code has run yet, and says
     * so; else says, on the cell's stderr, which jars a cell will not see and what to do.
     */
    private void warnShadowed(String magic, List<Path> jars, PrintStream log) {
        List<String> pairs = new ArrayList<>();
        for (Path jar : jars) {
            Path by = host.shadowedBy(jar);
            if (by != null) {
                pairs.add(jar.getFileName() + " by " + by.getFileName());
            }
        }
        if (pairs.isEmpty()) {
            return;
        }
        if (host.putNotebookJarsFirst() && jars.stream().noneMatch(jar -> host.shadowedBy(jar) != null)) {
            log.println(magic + ": the notebook's versions come first: " + String.join(", ", pairs).replace(" by ",
                    " before the kernel's ") + " (no Java code had run: the Java shell started again with the"
                    + " notebook's jars first).");
            return;
        }
        System.err.println(magic + ": warning: " + pairs.size() + " of the " + jars.size() + " jar(s) added are"
                + " shadowed by the kernel's own copy of the same library, which comes first on the class path: "
                + String.join(", ", pairs) + ". Cells get the kernel's version; code written for the version"
                + " asked for may not compile or may behave differently. This kernel carries the kit's libraries"
                + " (DJL, Tablesaw, XChart, gson, slf4j, ...) for the course notebooks; for a notebook that needs"
                + " other versions of them, restart the kernel and run this magic before any Java code (the"
                + " notebook's jars then come first), or use IJava or JJava (environment/README.md).");
    }

    private static final Pattern INLINE_MAGIC = Pattern.compile("^(.*=\\s*)%([A-Za-z]\\w*)(.*)$");

    /**
     * A Java line with a line magic as a value ({@code List<String> jars = %jars lib/*.jar}), as IJava allows after
     * {@code =}, rewritten to call {@code lineMagic("jars", List.of("lib/*.jar"))}; any other line unchanged. A
     * {@code %} inside a string literal, or one that is Java's remainder ({@code a = b % c}), is left alone.
     */
    static String inlineMagics(String line) {
        Matcher m = INLINE_MAGIC.matcher(line);
        if (isMagicLine(line) || !m.matches() || insideString(m.group(1))) {
            return line;
        }
        StringBuilder call = new StringBuilder(m.group(1)).append("lineMagic(").append(javaString(m.group(2)))
                .append(", List.of(");
        List<String> args = split(m.group(3).strip().replaceAll(";\\s*$", ""));
        for (int i = 0; i < args.size(); i++) {
            call.append(i > 0 ? ", " : "").append(javaString(args.get(i)));
        }
        return call.append("));").toString();
    }

    private static boolean insideString(String prefix) {
        boolean in = false;
        for (int i = 0; i < prefix.length(); i++) {
            if (prefix.charAt(i) == '"' && (i == 0 || prefix.charAt(i - 1) != '\\')) {
                in = !in;
            }
        }
        return in;
    }

    /** A Java string literal of {@code s}. */
    static String javaString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return b.append('"').toString();
    }

    /** The files a path with optional glob characters names ({@code *}, {@code **}, {@code ?}, {@code {a,b}}). */
    static List<Path> glob(String pattern) throws IOException {
        Path path = expandHome(pattern);
        String text = path.toString();
        if (!text.matches(".*[*?{\\[].*")) {
            return Files.exists(path) ? List.of(path) : List.of();
        }
        // walk from the last folder before the first glob character
        Path start = path.isAbsolute() ? path.getRoot() : Path.of("");
        for (Path part : path.isAbsolute() ? path.getRoot().relativize(path) : path) {
            if (part.toString().matches(".*[*?{\\[].*")) {
                break;
            }
            start = start.resolve(part);
        }
        Path base = start;
        if (!Files.isDirectory(base)) {
            return List.of();
        }
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + text);
        Path walkBase = base.toString().isEmpty() ? Path.of(".") : base;
        try (Stream<Path> walk = Files.walk(walkBase)) {
            return walk.map(p -> walkBase == base ? p : walkBase.relativize(p))
                    .filter(matcher::matches)
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    private static Path expandHome(String p) {
        return p.startsWith("~/") ? Path.of(System.getProperty("user.home"), p.substring(2)) : Path.of(p);
    }

    static List<String> split(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = ARG.matcher(text);
        while (m.find()) {
            words.add(m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3));
        }
        return words;
    }
}
