package diffusionkit.kernel;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import io.github.spencerpark.jupyter.channels.JupyterConnection;
import io.github.spencerpark.jupyter.kernel.BaseKernel;
import io.github.spencerpark.jupyter.kernel.LanguageInfo;
import io.github.spencerpark.jupyter.kernel.ReplacementOptions;
import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import io.github.spencerpark.jupyter.messages.Header;
import io.github.spencerpark.jupyter.messages.MessageType;
import io.github.spencerpark.jupyter.messages.reply.HistoryReply;
import io.github.spencerpark.jupyter.messages.reply.InterruptReply;
import io.github.spencerpark.jupyter.messages.reply.KernelInfoReply;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.SourceCodeAnalysis.Completeness;
import jdk.jshell.SourceCodeAnalysis.CompletionInfo;
import jdk.jshell.UnresolvedReferenceException;

/**
 * The Java kernel: cells are split into JShell snippets (and magic lines), evaluated in this JVM, and the value of a
 * trailing expression becomes the cell's result.
 */
final class JavaKernel extends BaseKernel implements Magics.Host, AutoCloseable {

    /** The imports of JShell's default start-up (as in IJava), plus the display API. */
    static final String STARTUP = String.join("\n",
            "import java.io.*;", "import java.math.*;", "import java.net.*;", "import java.nio.file.*;",
            "import java.util.*;", "import java.util.concurrent.*;", "import java.util.function.*;",
            "import java.util.prefs.*;", "import java.util.regex.*;", "import java.util.stream.*;",
            "import static diffusionkit.kernel.Display.*;",
            "import static io.github.spencerpark.ijava.runtime.Kernel.*;",
            "import static io.github.spencerpark.ijava.runtime.Magics.*;");

    /** "No value": the cell ended with a statement, a declaration or a magic. */
    private static final Object NO_VALUE = new Object();

    private final PrintStream logOut;
    private final PrintStream logErr;
    private final CellOutput output;
    private volatile SnippetExecutionControl control;
    private final Magics magics;
    private volatile CompletableFuture<JShell> shell;
    private final List<String> classpath = new ArrayList<>();
    /** The kernel's own class path (the kit and its libraries), as the JVM started. */
    private final List<String> kernelClasspath = new ArrayList<>();
    /** Whether the shell puts the notebook's jars before the kernel's (see {@link #putNotebookJarsFirst}). */
    private volatile boolean notebookJarsFirst;
    /** Whether any Java code of the notebook has run in this shell (the start-up imports aside). */
    private volatile boolean codeRan;
    /** Snippet id -> where it was typed, for stack traces: {execution count, first line in the cell}. */
    private final Map<String, int[]> snippetOrigin = new ConcurrentHashMap<>();
    private volatile boolean inCell;

    JavaKernel() {
        super(StandardCharsets.UTF_8);
        setShouldReplaceStdStreams(false); // this kernel installs its own, buffered, streams once
        logOut = System.out;
        logErr = System.err;
        output = new CellOutput(text -> send(text, false), text -> send(text, true));
        System.setOut(output.out());
        System.setErr(output.err());
        System.setIn(getIO().in);
        Renderers.registerAll(getRenderer());
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                classpath.add(Path.of(entry).toAbsolutePath().toString());
            }
        }
        kernelClasspath.addAll(classpath);
        control = new SnippetExecutionControl(new SnippetLoader(ClassLoader.getSystemClassLoader(), classpath));
        magics = new Magics(this);
        Display.attach(this); // also what IJavaRuntime (IJava's API) reaches
        // JShell's compiler warms up while Jupyter connects: start-up to the first result overlaps.
        shell = CompletableFuture.supplyAsync(this::createShell);
    }

    private JShell createShell() {
        JShell js;
        String jvmClasspath = System.getProperty("java.class.path");
        try {
            if (notebookJarsFirst) {
                // JShell's compiler starts from java.class.path, read when the shell is built, and appends what
                // addToClasspath adds; javac takes a class from the first entry that has it: the notebook's jars go first
                List<String> first = classpath.stream().filter(e -> !kernelClasspath.contains(e)).toList();
                System.setProperty("java.class.path", String.join(File.pathSeparator, first) + File.pathSeparator
                        + jvmClasspath);
            }
            js = JShell.builder()
                    .executionEngine(control.provider(), Map.of())
                    .out(logOut)
                    .err(logErr)
                    .build();
        } finally {
            System.setProperty("java.class.path", jvmClasspath);
        }
        classpath.forEach(js::addToClasspath);
        // eval(String) takes one snippet at a time
        SourceCodeAnalysis sca = js.sourceCodeAnalysis();
        String remaining = STARTUP;
        while (!remaining.isBlank()) {
            CompletionInfo info = sca.analyzeCompletion(remaining);
            js.eval(info.source());
            remaining = info.remaining();
        }
        return js;
    }

    private JShell jshell() throws Exception {
        try {
            return shell.get();
        } catch (ExecutionException ex) {
            throw new IllegalStateException("JShell failed to start: " + ex.getCause(), ex.getCause());
        }
    }

    private void send(String text, boolean err) {
        if (inCell) {
            PrintStream stream = err ? getIO().err : getIO().out;
            stream.print(text);
            stream.flush();
        } else {
            PrintStream log = err ? logErr : logOut;
            log.print(text);
            log.flush();
        }
    }

    /** Publishes display data from a cell, after the text printed before it. */
    void publishDisplay(DisplayData data, boolean update) {
        output.sendAll();
        if (update) {
            getIO().display.updateDisplay(data);
        } else {
            getIO().display.display(data);
        }
    }

    // ---------------------------------------------------------------- evaluation

    @Override
    public DisplayData eval(String code) throws Exception {
        jshell(); // waits for the start-up of JShell
        Thread current = Thread.currentThread();
        ClassLoader previous = current.getContextClassLoader();
        current.setContextClassLoader(control.classLoader());
        inCell = true;
        try {
            Object result = evalCell(code);
            output.sendAll();
            return result == NO_VALUE || result == null ? null : renderValue(result);
        } catch (Error e) { // an Error must become the cell's error output: thrown on, it ends the message thread
            throw new CellError(e);
        } finally {
            output.sendAll();
            control.endOfCell();
            inCell = false;
            current.setContextClassLoader(previous);
        }
    }

    @Override
    public Object evalCell(String code) throws Exception {
        if (Magics.isCellMagic(code)) {
            magics.runCell(code, System.out);
            return NO_VALUE; // as in IJava: a cell magic's value is for cellMagic(...), not shown
        }
        Object last = NO_VALUE;
        StringBuilder chunk = new StringBuilder();
        int chunkLine = 1;
        String[] lines = code.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (Magics.isMagicLine(lines[i])) {
                if (!chunk.toString().isBlank()) {
                    last = evalJava(chunk.toString(), chunkLine);
                }
                chunk.setLength(0);
                chunkLine = i + 2;
                Object value = magics.run(lines[i], System.out);
                last = value == null ? NO_VALUE : value;
            } else {
                chunk.append(Magics.inlineMagics(lines[i])).append('\n');
            }
        }
        if (!chunk.toString().isBlank()) {
            last = evalJava(chunk.toString(), chunkLine);
        }
        return last;
    }

    /** Evaluation asked for by a cell's own code (IJava's {@code eval}): the value of the trailing expression, or null. */
    Object evalNested(String code) throws Exception {
        Object value = evalCell(code);
        return value == NO_VALUE ? null : value;
    }

    /** The kernel's magics (IJava's {@code lineMagic}/{@code cellMagic}). */
    Magics magics() {
        return magics;
    }

    /** Evaluates Java source snippet by snippet; {@code firstLine} is its first line's number in the cell. */
    private Object evalJava(String code, int firstLine) throws Exception {
        JShell js = jshell();
        codeRan = true;
        SourceCodeAnalysis sca = js.sourceCodeAnalysis();
        Object last = NO_VALUE;
        String remaining = code;
        while (!remaining.isBlank()) {
            CompletionInfo info = sca.analyzeCompletion(remaining);
            if (info.completeness() == Completeness.EMPTY) {
                break; // only comments left
            }
            boolean complete = info.completeness().isComplete();
            String source = complete ? info.source() : remaining;
            int start = code.length() - remaining.length() + startOf(remaining, source);
            int line = firstLine + count(code, '\n', start);
            last = evalSnippet(js, source, line);
            remaining = complete ? info.remaining() : "";
        }
        return last;
    }

    /**
     * Whether a snippet's value is the cell's result, as in IJava: a variable's name ({@code x}), a method call or any
     * other expression ({@code 1 + 2}); not an assignment ({@code x = 5}) nor a declaration ({@code int x = 5}).
     */
    static boolean showsValue(Snippet.SubKind subKind) {
        return subKind == Snippet.SubKind.VAR_VALUE_SUBKIND || subKind == Snippet.SubKind.OTHER_EXPRESSION_SUBKIND
                || subKind == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND;
    }

    private static int startOf(String remaining, String source) {
        String head = source.strip();
        head = head.substring(0, Math.min(head.length(), 16));
        int at = head.isEmpty() ? -1 : remaining.indexOf(head);
        if (at >= 0) {
            return at;
        }
        int i = 0;
        while (i < remaining.length() && Character.isWhitespace(remaining.charAt(i))) {
            i++;
        }
        return i;
    }

    private static int count(String text, char ch, int end) {
        int n = 0;
        for (int i = 0; i < end && i < text.length(); i++) {
            if (text.charAt(i) == ch) {
                n++;
            }
        }
        return n;
    }

    private Object evalSnippet(JShell js, String source, int line) throws Exception {
        List<SnippetEvent> events = js.eval(source);
        Object value = NO_VALUE;
        for (SnippetEvent event : events) {
            if (event.causeSnippet() != null) {
                continue; // an older snippet updated because of this one
            }
            Snippet snippet = event.snippet();
            snippetOrigin.put(snippet.id(), new int[] {currentCount(), line});
            if (event.status() == Snippet.Status.REJECTED) {
                throw CompilationException.of(js.diagnostics(snippet).collect(Collectors.toList()), source, line);
            }
            JShellException thrown = event.exception();
            if (thrown != null) {
                throw runtimeError(js, thrown);
            }
            if (event.status() == Snippet.Status.RECOVERABLE_DEFINED
                    || event.status() == Snippet.Status.RECOVERABLE_NOT_DEFINED) {
                String missing = js.unresolvedDependencies((jdk.jshell.DeclarationSnippet) snippet)
                        .collect(Collectors.joining(", "));
                System.err.println("note: " + snippet.source().strip().split("\n")[0]
                        + " can be used once these are defined: " + missing);
            }
            Object result = control.takeResult(event.value());
            value = showsValue(snippet.subKind()) ? result : NO_VALUE;
        }
        return value;
    }

    private Exception runtimeError(JShell js, JShellException thrown) {
        if (thrown instanceof EvalException
                && SnippetExecutionControl.INTERRUPTED.equals(((EvalException) thrown).getExceptionClassName())) {
            return new InterruptedException("the cell was interrupted");
        }
        Throwable real = control.takeLastThrown();
        if (thrown instanceof UnresolvedReferenceException) {
            jdk.jshell.DeclarationSnippet s = ((UnresolvedReferenceException) thrown).getSnippet();
            return new IllegalStateException(s.source().strip().split("\n")[0] + " cannot run yet: define "
                    + js.unresolvedDependencies(s).collect(Collectors.joining(", ")) + " first");
        }
        if (real != null) {
            translateStackTraces(real, thrown);
        }
        if (real instanceof Exception) {
            return (Exception) real;
        }
        if (real != null) {
            CellError error = new CellError(real);
            error.setStackTrace(new StackTraceElement[0]);
            return error;
        }
        return thrown;
    }

    /**
     * JShell's exception carries the snippet frames translated to snippet ids and lines ({@code f(#12:2)}); the
     * real exception has the wrapper classes' lines. Put the translated frames into the real exception's trace
     * (and its causes'), keeping the library frames in between.
     */
    private static void translateStackTraces(Throwable real, Throwable translated) {
        Set<Throwable> seen = new LinkedHashSet<>();
        while (real != null && translated != null && seen.add(real)) {
            StackTraceElement[] frames = real.getStackTrace();
            StackTraceElement[] snippetFrames = translated.getStackTrace();
            int k = 0;
            for (int i = 0; i < frames.length; i++) {
                if (frames[i].getClassName().startsWith("REPL.$JShell$")) {
                    while (k < snippetFrames.length && !isSnippetFrame(snippetFrames[k])) {
                        k++;
                    }
                    if (k < snippetFrames.length) {
                        frames[i] = snippetFrames[k++];
                    }
                }
            }
            real.setStackTrace(frames);
            real = real.getCause();
            translated = translated.getCause();
        }
    }

    private static boolean isSnippetFrame(StackTraceElement frame) {
        return frame.getFileName() != null && frame.getFileName().startsWith("#");
    }

    private int currentCount() {
        return executionCount.get() - 1;
    }

    /**
     * The cell's value, rendered. A {@code toString()} or renderer that throws, even an {@link Error}, gives the cell an
     * error output that says so; the kernel goes on answering.
     */
    private static DisplayData renderValue(Object result) throws RenderError {
        try {
            return Display.render(result);
        } catch (Throwable t) {
            throw new RenderError(result.getClass(), t);
        }
    }

    /** A cell's value that could not be shown: its {@code toString()} or its renderer threw. */
    static final class RenderError extends Exception {
        RenderError(Class<?> type, Throwable cause) {
            super("the cell's value (a " + type.getName() + ") could not be shown: its toString() or renderer threw "
                    + cause, cause);
        }
    }

    /** An {@link Error} thrown by a cell (OutOfMemoryError, StackOverflowError...), carried as an exception. */
    static final class CellError extends Exception {
        CellError(Throwable error) {
            super(error.toString(), error);
        }
    }

    @Override
    public List<String> formatError(Exception e) {
        if (e instanceof CompilationException) {
            return ((CompilationException) e).lines();
        }
        List<String> lines = new ArrayList<>();
        Throwable t = e instanceof CellError ? e.getCause() : e;
        boolean first = true;
        Set<Throwable> seen = new LinkedHashSet<>();
        while (t != null && seen.add(t)) {
            lines.add(errorStyler.secondary((first ? "" : "Caused by: ") + t));
            for (StackTraceElement frame : t.getStackTrace()) {
                if (isInvocationFrame(frame)) {
                    break; // below the cell: reflection and the kernel's own machinery
                }
                if (frame.getClassName().startsWith("diffusionkit.kernel.")
                        && !frame.getClassName().equals(Display.class.getName())) {
                    continue; // the exit guard and the like
                }
                lines.add(errorStyler.primary("    at " + describe(frame)));
            }
            first = false;
            t = t.getCause();
        }
        return lines;
    }

    private static boolean isInvocationFrame(StackTraceElement frame) {
        String c = frame.getClassName();
        return c.startsWith("jdk.internal.reflect.") || c.equals("java.lang.reflect.Method")
                || c.startsWith(SnippetExecutionControl.class.getName());
    }

    private String describe(StackTraceElement frame) {
        if (isSnippetFrame(frame)) {
            String id = frame.getFileName().substring(1);
            int[] origin = snippetOrigin.get(id);
            String method = frame.getMethodName().isEmpty() || frame.getMethodName().equals("do_it$")
                    ? "cell" : frame.getMethodName();
            if (origin != null) {
                return method + " (In [" + origin[0] + "], line " + (origin[1] + frame.getLineNumber() - 1) + ")";
            }
            return method + " (snippet " + frame.getFileName() + ", line " + frame.getLineNumber() + ")";
        }
        return frame.toString();
    }

    // ---------------------------------------------------------------- completion, inspection

    /** The snippet of a cell around a cursor position: its start offset and its text. */
    private static final class Located {
        final int start;
        final String text;

        Located(int start, String text) {
            this.start = start;
            this.text = text;
        }
    }

    private static Located locate(SourceCodeAnalysis sca, String code, int at) {
        String text = blankMagicLines(code);
        int start = 0;
        String remaining = text;
        while (true) {
            CompletionInfo info = sca.analyzeCompletion(remaining);
            if (!info.completeness().isComplete() || info.remaining().isBlank()) {
                return new Located(start, remaining);
            }
            int length = remaining.length() - info.remaining().length();
            if (start + length >= at) {
                return new Located(start, remaining.substring(0, length));
            }
            start += length;
            remaining = info.remaining();
        }
    }

    private static String blankMagicLines(String code) {
        StringBuilder out = new StringBuilder(code.length());
        for (String line : code.split("\n", -1)) {
            out.append(Magics.isMagicLine(line) ? " ".repeat(line.length()) : line).append('\n');
        }
        return out.substring(0, code.length());
    }

    @Override
    public ReplacementOptions complete(String code, int at) throws Exception {
        JShell js = jshell();
        SourceCodeAnalysis sca = js.sourceCodeAnalysis();
        Located snippet = locate(sca, code, at);
        int[] anchor = new int[1];
        List<SourceCodeAnalysis.Suggestion> suggestions =
                sca.completionSuggestions(snippet.text, at - snippet.start, anchor);
        Set<String> texts = new LinkedHashSet<>();
        suggestions.stream().filter(SourceCodeAnalysis.Suggestion::matchesType)
                .forEach(s -> texts.add(s.continuation()));
        suggestions.forEach(s -> texts.add(s.continuation()));
        return new ReplacementOptions(new ArrayList<>(texts), snippet.start + anchor[0], at);
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) throws Exception {
        SourceCodeAnalysis sca = jshell().sourceCodeAnalysis();
        Located snippet = locate(sca, code, at);
        int cursor = at - snippet.start;
        List<SourceCodeAnalysis.Documentation> docs = sca.documentation(snippet.text, cursor, true);
        if (docs.isEmpty()) { // "Math.max|" documents like "Math.max(|"
            String head = snippet.text.substring(0, Math.min(cursor, snippet.text.length()));
            docs = sca.documentation(head + "(", cursor + 1, true);
        }
        if (docs.isEmpty()) {
            return null;
        }
        String text = docs.stream()
                .map(d -> d.signature() + (extraDetail && d.javadoc() != null ? "\n" + d.javadoc() : ""))
                .collect(Collectors.joining("\n\n"));
        return new DisplayData(text);
    }

    @Override
    public String isComplete(String code) {
        JShell js = shell.getNow(null);
        if (js == null) {
            return IS_COMPLETE_MAYBE;
        }
        SourceCodeAnalysis sca = js.sourceCodeAnalysis();
        String remaining = blankMagicLines(code);
        while (!remaining.isBlank()) {
            CompletionInfo info = sca.analyzeCompletion(remaining);
            switch (info.completeness()) {
                case DEFINITELY_INCOMPLETE:
                case CONSIDERED_INCOMPLETE:
                    return "    ";
                case UNKNOWN:
                    return IS_COMPLETE_BAD;
                default:
                    remaining = info.remaining();
            }
        }
        return IS_COMPLETE_YES;
    }

    // ---------------------------------------------------------------- the rest of the protocol

    @Override
    public void addToClasspath(Path path) {
        String entry = path.toAbsolutePath().toString();
        if (!classpath.contains(entry)) {
            classpath.add(entry);
            shell.join().addToClasspath(entry);
        }
    }

    @Override
    public List<String> classpath() {
        return List.copyOf(classpath);
    }

    /**
     * Makes the jars the notebook added come before the kernel's own libraries, for compiling and for loading, so that
     * a notebook's {@code %maven} of another version of DJL, Tablesaw, gson... gets that version: possible while no
     * Java code of the notebook has run (then the Java shell starts again, with the notebook's jars first; nothing is
     * lost). Once code ran, the shell's classes are bound to the kernel's versions.
     *
     * @return whether the notebook's jars now come first
     */
    @Override
    public boolean putNotebookJarsFirst() {
        if (notebookJarsFirst) {
            return true;
        }
        if (codeRan) {
            return false;
        }
        JShell old = shell.join();
        notebookJarsFirst = true;
        control = new SnippetExecutionControl(new SnippetLoader(ClassLoader.getSystemClassLoader(), kernelClasspath,
                true));
        shell = CompletableFuture.completedFuture(createShell());
        Thread.currentThread().setContextClassLoader(control.classLoader());
        old.close();
        return true;
    }

    /**
     * The jar or folder whose classes a cell gets instead of those of {@code jar}: the kernel's own copy of the same
     * library, which comes first on the class path (the first class of {@code jar} that loads tells), or null when
     * {@code jar}'s classes are its own.
     */
    @Override
    public Path shadowedBy(Path jar) {
        if (!Files.isRegularFile(jar)) {
            return null;
        }
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                String name = entries.nextElement().getName();
                if (!name.endsWith(".class") || name.startsWith("META-INF/") || name.endsWith("module-info.class")
                        || name.endsWith("package-info.class")) {
                    continue;
                }
                Class<?> c;
                try {
                    c = Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false,
                            control.classLoader());
                } catch (ClassNotFoundException | LinkageError e) {
                    continue;
                }
                var source = c.getProtectionDomain().getCodeSource();
                if (source == null || source.getLocation() == null) {
                    return null;
                }
                Path from = Path.of(source.getLocation().toURI()).toAbsolutePath();
                return from.equals(jar.toAbsolutePath()) ? null : from;
            }
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            return null; // not a jar we can read: nothing to say
        }
        return null;
    }

    @Override
    public void interrupt() {
        control.stop();
    }

    /**
     * Takes over kernel_info, history and interrupt from basekernel, whose replies lack the {@code "status": "ok"}
     * the protocol requires (history: basekernel sends no reply at all without a history manager).
     *
     * @param connection the connection this kernel already handles
     */
    void answerKernelInfo(JupyterConnection connection) {
        connection.setHandler(MessageType.KERNEL_INFO_REQUEST, (env, request) -> {
            env.setBusyDeferIdle();
            env.reply(new KernelInfo(getLanguageInfo(), getBanner()));
        });
        // no history is kept, but a console asking for it gets an answer instead of silence
        connection.setHandler(MessageType.HISTORY_REQUEST, (env, request) -> {
            env.setBusyDeferIdle();
            env.reply(new EmptyHistory());
        });
        connection.setHandler(MessageType.INTERRUPT_REQUEST, (env, request) -> {
            env.setBusyDeferIdle();
            env.defer().reply(new InterruptOk());
            interrupt();
        });
    }

    /** An empty history reply with its status. */
    static final class EmptyHistory extends HistoryReply {
        @SuppressWarnings("unused") // serialized
        private final String status = "ok";

        EmptyHistory() {
            super(List.of());
        }
    }

    /** The interrupt reply with its status. */
    static final class InterruptOk extends InterruptReply {
        @SuppressWarnings("unused") // serialized
        private final String status = "ok";
    }

    /** The kernel_info reply with its status. */
    static final class KernelInfo extends KernelInfoReply {
        @SuppressWarnings("unused") // serialized
        private final String status = "ok";
        @SuppressWarnings("unused") // serialized
        private final boolean debugger = false;

        KernelInfo(LanguageInfo language, String banner) {
            super(Header.PROTOCOL_VERISON, "diffusion-kit-kernel", kitVersion(), language, banner, List.of());
        }
    }

    @Override
    public LanguageInfo getLanguageInfo() {
        return new LanguageInfo.Builder("Java")
                .version(Runtime.version().toString())
                .mimetype("text/x-java-source")
                .fileExtension(".jshell")
                .pygments("java")
                .codemirror("text/x-java")
                .build();
    }

    @Override
    public String getBanner() {
        return "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
                + " | DJL " + resourceVersion("ai/djl/engine/api.properties", "djl_version")
                + " | diffusion-kit " + kitVersion()
                + "\n"
                + "JShell kernel, IJava-compatible: display(), updateDisplay(), %maven, %jars, %classpath, %load, %%loadFromPOM";
    }

    /** The version of the kit (and of this kernel, built with it): the one Maven wrote into kernel.properties. */
    static String kitVersion() {
        String version = resourceVersion("diffusionkit/kernel/kernel.properties", "version");
        return version.startsWith("${") ? "dev" : version; // copied without Maven's filtering (an IDE build)
    }

    /** A version from a properties file on the class path, or "dev" when it is missing (an IDE build). */
    static String resourceVersion(String resource, String key) {
        try (InputStream in = ClassLoader.getSystemResourceAsStream(resource)) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key, "dev");
        } catch (IOException ex) {
            return "dev";
        }
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        control.stop();
        output.sendAll();
    }

    @Override
    public void close() {
        output.close();
        JShell js = shell.getNow(null);
        if (js != null) {
            js.close();
        }
    }
}
