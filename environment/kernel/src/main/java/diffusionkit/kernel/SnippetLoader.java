package diffusionkit.kernel;

import java.io.File;
import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Set;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import jdk.jshell.execution.LoaderDelegate;
import jdk.jshell.spi.ExecutionControl.ClassBytecodes;
import jdk.jshell.spi.ExecutionControl.ClassInstallException;
import jdk.jshell.spi.ExecutionControl.InternalException;

/**
 * Loads the classes JShell compiles for each snippet into this JVM, in one class loader whose parent is the
 * application class loader (so snippets see the kit's lib and everything on the kernel's classpath), and which
 * grows when {@code %jars}, {@code %classpath} or {@code %maven} add jars.
 *
 * <p>It also remembers which wrapper classes hold which snippet variables, so that when a cell re-declares a
 * variable the old wrapper class lets go of its value ({@link #releaseReplacedVariables()}); without this every
 * re-run of {@code var big = new byte[100_000_000];} would keep the previous array alive.
 */
final class SnippetLoader implements LoaderDelegate {

    /** The class loader of all snippet classes and of the jars added at run time. */
    static final class SnippetClassLoader extends URLClassLoader {
        /** Classes never taken from a notebook's jars: the platform's and the kernel's own, which cells talk to. */
        private static final List<String> PARENT_ONLY = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.",
                "diffusionkit.kernel.", "io.github.spencerpark.");

        private final Map<String, byte[]> bytecodes = new ConcurrentHashMap<>();
        private final boolean notebookFirst;

        SnippetClassLoader(ClassLoader parent, boolean notebookFirst) {
            super("jshell-snippets", new URL[0], parent);
            this.notebookFirst = notebookFirst;
        }

        /**
         * With {@code notebookFirst}, a class that a jar added by the notebook holds is loaded from that jar even when
         * the kernel's class path has the same class (another version of the library): the notebook's version wins.
         * Otherwise, and for the platform's and the kernel's classes, the usual parent-first order.
         */
        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!notebookFirst || PARENT_ONLY.stream().anyMatch(name::startsWith)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null && findResource(name.replace('.', '/') + ".class") != null) {
                    c = findClass(name);
                }
                if (c == null) {
                    return super.loadClass(name, resolve);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        void declare(String name, byte[] code) {
            bytecodes.put(name, code);
        }

        @Override
        protected Class<?> findClass(String name) throws ClassNotFoundException {
            byte[] code = bytecodes.get(name);
            if (code == null) {
                return super.findClass(name);
            }
            return defineClass(name, code, 0, code.length);
        }

        void addPath(String path) throws MalformedURLException {
            addURL(new File(path).toURI().toURL());
        }
    }

    /** JShell's top-level wrapper classes: {@code REPL.$JShell$12}, and {@code REPL.$JShell$12B} once replaced. */
    private static final Pattern WRAPPER_NAME = Pattern.compile("REPL\\.\\$JShell\\$\\d+[A-Z]*");

    private final SnippetClassLoader loader;
    private final Map<String, Class<?>> classes = new ConcurrentHashMap<>();
    /** Snippet variable name -> the wrapper classes (oldest first) that declared a static field of that name. */
    private final Map<String, List<WeakReference<Class<?>>>> variableHolders = new HashMap<>();

    private final Set<String> parentClasspath;

    /**
     * @param parent the class loader that already holds the kernel's class path
     * @param parentClasspath the entries of that class path: JShell adds them for compiling, they need no loading
     */
    SnippetLoader(ClassLoader parent, Collection<String> parentClasspath) {
        this(parent, parentClasspath, false);
    }

    /**
     * @param notebookFirst classes of the jars the notebook adds win over the kernel's own copies
     *     ({@link SnippetClassLoader#loadClass})
     */
    SnippetLoader(ClassLoader parent, Collection<String> parentClasspath, boolean notebookFirst) {
        this.loader = new SnippetClassLoader(parent, notebookFirst);
        this.parentClasspath = Set.copyOf(parentClasspath);
    }

    /** The class loader of the snippets: the context class loader of the snippet thread. */
    ClassLoader classLoader() {
        return loader;
    }

    @Override
    public void load(ClassBytecodes[] cbcs) throws ClassInstallException {
        boolean[] installed = new boolean[cbcs.length];
        for (ClassBytecodes cbc : cbcs) {
            loader.declare(cbc.name(), cbc.bytecodes());
        }
        int i = 0;
        try {
            for (ClassBytecodes cbc : cbcs) {
                Class<?> klass = loader.loadClass(cbc.name());
                klass.getDeclaredMethods(); // links the class now, as JShell's own loader does
                classes.put(cbc.name(), klass);
                rememberVariables(klass);
                installed[i++] = true;
            }
        } catch (Throwable ex) {
            throw new ClassInstallException("could not load snippet class: " + ex, installed);
        }
    }

    private synchronized void rememberVariables(Class<?> klass) {
        if (!WRAPPER_NAME.matcher(klass.getName()).matches()) {
            return; // a class the user declared, not a snippet wrapper: its static fields are the user's business
        }
        for (Field field : klass.getDeclaredFields()) {
            int mods = field.getModifiers();
            if (Modifier.isStatic(mods) && !Modifier.isFinal(mods) && !field.getType().isPrimitive()) {
                variableHolders.computeIfAbsent(field.getName(), k -> new ArrayList<>())
                        .add(new WeakReference<>(klass));
            }
        }
    }

    /**
     * Sets to {@code null} the static fields of older wrapper classes whose variable has since been declared again by a
     * newer snippet, so the replaced values can be garbage collected.
     */
    synchronized void releaseReplacedVariables() {
        for (Map.Entry<String, List<WeakReference<Class<?>>>> entry : variableHolders.entrySet()) {
            List<WeakReference<Class<?>>> holders = entry.getValue();
            while (holders.size() > 1) {
                Class<?> old = holders.remove(0).get();
                if (old == null) {
                    continue;
                }
                try {
                    Field field = old.getDeclaredField(entry.getKey());
                    field.setAccessible(true);
                    field.set(null, null);
                } catch (ReflectiveOperationException | RuntimeException ignored) {
                    // not a snippet variable after all (or not accessible): leave it alone
                }
            }
        }
    }

    @Override
    public void classesRedefined(ClassBytecodes[] cbcs) {
        for (ClassBytecodes cbc : cbcs) {
            loader.declare(cbc.name(), cbc.bytecodes());
        }
    }

    @Override
    public void addToClasspath(String path) throws InternalException {
        try {
            for (String element : path.split(File.pathSeparator)) {
                if (!element.isBlank() && !parentClasspath.contains(element)) {
                    loader.addPath(element);
                }
            }
        } catch (MalformedURLException ex) {
            throw new InternalException("not a valid class path entry: " + path + " (" + ex.getMessage() + ")");
        }
    }

    @Override
    public Class<?> findClass(String name) throws ClassNotFoundException {
        Class<?> klass = classes.get(name);
        if (klass == null) {
            throw new ClassNotFoundException(name + " was not loaded by the kernel's snippet class loader");
        }
        return klass;
    }
}
