package diffusionkit.kernel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

/**
 * Runs JShell snippets in this JVM, on one dedicated snippet thread, and keeps the real result objects.
 *
 * <p>JShell only hands back a string for each value. This control stores the value object itself under a key and
 * returns the key as the "value string", so the kernel can look the object up ({@link #takeResult}) and render a
 * {@code BufferedImage} as PNG rather than as {@code java.awt.image.BufferedImage@1b2c3d}.
 *
 * <p>{@link #stop()} (a Jupyter interrupt) first interrupts the snippet thread, which ends sleeps, waits and loops
 * that check {@link Thread#interrupted()}; a busy loop that ignores interrupts is stopped with {@code Thread.stop()}
 * after a short grace period (available up to Java 19).
 */
final class SnippetExecutionControl extends DirectExecutionControl {

    /** The exception class name JShell reports when a cell was interrupted. */
    static final String INTERRUPTED = "diffusionkit.kernel.CellInterrupted";

    private static final Object NULL = new Object();
    private static final long STOP_GRACE_MS = 1000;

    private final SnippetLoader loader;
    private final ExecutorService snippetThread;
    private final Map<String, Object> results = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong task = new AtomicLong();
    private volatile Thread running;
    private volatile boolean stopRequested;
    private volatile Throwable lastThrown;

    SnippetExecutionControl(SnippetLoader loader) {
        super(loader);
        this.loader = loader;
        this.snippetThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jshell-cell");
            t.setDaemon(true);
            t.setContextClassLoader(loader.classLoader());
            return t;
        });
    }

    /** A provider for {@code JShell.builder().executionEngine(...)} that always answers with this control. */
    ExecutionControlProvider provider() {
        SnippetExecutionControl control = this;
        return new ExecutionControlProvider() {
            @Override
            public String name() {
                return "diffusionkit-in-process";
            }

            @Override
            public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
                return control;
            }
        };
    }

    /** The class loader of the snippets. */
    ClassLoader classLoader() {
        return loader.classLoader();
    }

    @Override
    protected String invoke(Method doitMethod) throws Exception {
        if (Thread.currentThread() == running) {
            return invokeNested(doitMethod);
        }
        stopRequested = false;
        task.incrementAndGet();
        Future<Object> future = snippetThread.submit(() -> {
            running = Thread.currentThread();
            try {
                return doitMethod.invoke(null);
            } finally {
                running = null;
                Thread.interrupted(); // a late interrupt must not leak into the next cell
            }
        });
        try {
            return keep(future.get());
        } catch (ExecutionException ex) {
            Throwable cause = ex.getCause();
            Throwable thrown = cause instanceof InvocationTargetException ? cause.getCause() : cause;
            if (stopRequested && isStopSignal(thrown)) {
                throw new UserException("the cell was interrupted", INTERRUPTED, thrown.getStackTrace());
            }
            lastThrown = thrown;
            if (cause instanceof InvocationTargetException) {
                throw (InvocationTargetException) cause;
            }
            throw new InvocationTargetException(thrown);
        }
    }

    /**
     * A cell's code evaluating code ({@code eval("...")}, {@code lineMagic("load", ...)}, as IJava allows): it runs on
     * the cell's own thread, which is busy with the outer snippet and would never pick up a new task.
     */
    private String invokeNested(Method doitMethod) throws Exception {
        try {
            return keep(doitMethod.invoke(null));
        } catch (InvocationTargetException ex) {
            lastThrown = ex.getCause();
            throw ex;
        }
    }

    /** Keeps a snippet's value for {@link #takeResult} under a new key, which JShell reports as the value. */
    private String keep(Object value) {
        String key = "#result-" + ids.incrementAndGet();
        results.put(key, value == null ? NULL : value);
        return key;
    }

    @SuppressWarnings("removal")
    private static boolean isStopSignal(Throwable thrown) {
        return thrown instanceof ThreadDeath || thrown instanceof InterruptedException;
    }

    /**
     * Returns the object a snippet produced, given the key that JShell reported as its value, and forgets it.
     *
     * @param key the value string of a {@code SnippetEvent}
     * @return the object, {@code null} for a null value or when the key is unknown
     */
    Object takeResult(String key) {
        Object value = key == null ? null : results.remove(key);
        return value == NULL ? null : value;
    }

    /** Forgets all stored results (called at the end of every cell) and releases re-declared variables. */
    void endOfCell() {
        results.clear();
        loader.releaseReplacedVariables();
    }

    /** The exception the last failing snippet threw, with its full stack trace and causes, then forgets it. */
    Throwable takeLastThrown() {
        Throwable t = lastThrown;
        lastThrown = null;
        return t;
    }

    /** Whether a snippet is running now. */
    boolean isRunning() {
        return running != null;
    }

    @Override
    @SuppressWarnings({"deprecation", "removal"})
    public void stop() {
        Thread thread = running;
        if (thread == null) {
            return;
        }
        long myTask = task.get();
        stopRequested = true;
        thread.interrupt();
        Thread stopper = new Thread(() -> {
            try {
                thread.join(STOP_GRACE_MS);
            } catch (InterruptedException ex) {
                return;
            }
            if (running == thread && task.get() == myTask) {
                try {
                    thread.stop();
                } catch (UnsupportedOperationException ex) {
                    System.err.println("The cell ignores interrupts and this Java version cannot stop a thread:"
                            + " it keeps running. Check Thread.interrupted() in long loops, or restart the kernel.");
                }
            }
        }, "jshell-cell-stopper");
        stopper.setDaemon(true);
        stopper.start();
    }

    @Override
    public void close() {
        snippetThread.shutdownNow();
        try {
            snippetThread.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
