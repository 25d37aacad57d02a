package diffusionkit.hub;

import java.io.PrintStream;
import java.util.Locale;

/** What a {@link Hub} reports while it downloads: a file starts, bytes arrive, the file is done. */
public interface DownloadProgress {

    /**
     * A download starts.
     *
     * @param total the file's size in bytes
     * @param resumedFrom bytes already there from an interrupted download (0: from the start)
     */
    void start(String repoId, String filename, long total, long resumedFrom);

    /** {@code bytes} of the file are on disk (including resumed ones). */
    void advance(long bytes);

    /** The file is complete and checked, {@code bytes} long, after {@code seconds}. */
    void done(String repoId, String filename, long bytes, double seconds);

    /** A notice (using the cache because the hub cannot be reached, a corrupted blob downloaded again, ...). */
    void notice(String message);

    /** Nothing. */
    static DownloadProgress none() {
        return new DownloadProgress() {
            @Override
            public void start(String repoId, String filename, long total, long resumedFrom) {}

            @Override
            public void advance(long bytes) {}

            @Override
            public void done(String repoId, String filename, long bytes, double seconds) {}

            @Override
            public void notice(String message) {}
        };
    }

    /**
     * Lines on {@code out} prefixed {@code [hub]}: a start line for files over 1 MB, a progress line at most every
     * {@code everySeconds}, a done line for every file. Lines, not carriage returns, so a notebook and a log read the same.
     */
    static DownloadProgress lines(PrintStream out, double everySeconds) {
        return new DownloadProgress() {
            private long total;
            private long lastPrint;
            private long startNanos;
            private long resumed;

            @Override
            public void start(String repoId, String filename, long t, long resumedFrom) {
                total = t;
                resumed = resumedFrom;
                startNanos = System.nanoTime();
                lastPrint = startNanos;
                if (t > 1_000_000) {
                    out.println("[hub] downloading " + repoId + " " + filename + " (" + size(t) + ")"
                            + (resumedFrom > 0 ? ", resuming at " + size(resumedFrom) : ""));
                }
            }

            @Override
            public void advance(long bytes) {
                long now = System.nanoTime();
                if (now - lastPrint >= everySeconds * 1e9 && total > 0) {
                    lastPrint = now;
                    double s = (now - startNanos) / 1e9;
                    out.printf(Locale.ROOT, "[hub]   %3.0f%%  %s of %s, %.1f MB/s%n", 100.0 * bytes / total, size(bytes),
                            size(total), (bytes - resumed) / 1e6 / Math.max(s, 1e-9));
                }
            }

            @Override
            public void done(String repoId, String filename, long bytes, double seconds) {
                out.printf(Locale.ROOT, "[hub] %s %s: %s in %.1f s%n", repoId, filename, size(bytes), seconds);
            }

            @Override
            public void notice(String message) {
                out.println("[hub] " + message);
            }
        };
    }

    /** {@link #lines} on stderr, a progress line every 5 seconds. */
    static DownloadProgress stderr() {
        return lines(System.err, 5);
    }

    /** A byte count for people: 512 B, 3.4 kB, 455.2 MB, 1.2 GB. */
    static String size(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
