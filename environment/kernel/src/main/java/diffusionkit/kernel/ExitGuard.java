package diffusionkit.kernel;

import java.security.Permission;

/**
 * Keeps {@code System.exit()} in a notebook cell from killing the kernel: a security manager that allows
 * everything except exiting, until the kernel itself shuts down ({@link #allowExit()}).
 *
 * <p>Java 17 warns once on stderr (the kernel's log) that security managers are deprecated; Java 18 to 23 need
 * {@code -Djava.security.manager=allow} (the installed kernel.json passes it); from Java 24 on there is no security
 * manager and the guard is off, with a note in the kernel log.
 */
@SuppressWarnings("removal")
final class ExitGuard extends SecurityManager {

    private static volatile boolean exitAllowed;

    private ExitGuard() {
    }

    /** Installs the guard; returns whether this Java version allowed it. */
    static boolean install() {
        try {
            // Java 17 prints a four-line deprecation warning to the JVM's first stderr (the Jupyter log) here
            System.setSecurityManager(new ExitGuard());
            return true;
        } catch (UnsupportedOperationException | SecurityException ex) {
            System.err.println("note: System.exit() in a cell will stop the kernel on this Java version ("
                    + ex.getMessage() + ")");
            return false;
        }
    }

    /** Lets the kernel's own shutdown exit the JVM. */
    static void allowExit() {
        exitAllowed = true;
    }

    @Override
    public void checkExit(int status) {
        if (!exitAllowed) {
            throw new SecurityException("System.exit(" + status + ") would stop the Jupyter kernel, so it is"
                    + " disabled in notebook cells: return from the cell instead, or use Kernel > Restart.");
        }
    }

    @Override
    public void checkPermission(Permission perm) {
        // everything else is allowed
    }

    @Override
    public void checkPermission(Permission perm, Object context) {
        // everything else is allowed
    }
}
