package diffusionkit.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import jdk.jshell.Diag;

/** A snippet of a cell did not compile: the message and the listing name the line of the cell. */
public final class CompilationException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient List<String> lines;

    private CompilationException(String message, List<String> lines) {
        super(message);
        this.lines = lines;
    }

    /**
     * Builds the error for a rejected snippet.
     *
     * @param diagnostics JShell's diagnostics of the snippet
     * @param source the snippet's source
     * @param firstLine the line of the cell where the snippet starts (1-based)
     * @return the exception; its traceback shows each error with the offending source line and a caret
     */
    static CompilationException of(List<Diag> diagnostics, String source, int firstLine) {
        List<String> lines = new ArrayList<>();
        String first = null;
        for (Diag diag : diagnostics) {
            if (!diag.isError()) {
                continue;
            }
            int pos = (int) Math.max(0, Math.min(diag.getStartPosition(), source.length()));
            int lineStart = source.lastIndexOf('\n', pos - 1) + 1;
            int lineEnd = source.indexOf('\n', pos);
            if (lineEnd < 0) {
                lineEnd = source.length();
            }
            // firstLine is the line of the snippet's first non-blank character
            int lead = source.length() - source.stripLeading().length();
            int line = firstLine + (int) source.substring(Math.min(lead, lineStart), lineStart).chars()
                    .filter(c -> c == '\n').count();
            // JShell's wrapper class has no name worth showing
            String message = diag.getMessage(Locale.ROOT).replaceAll("\n\\s*location: class\\s*$", "");
            if (first == null) {
                first = "line " + line + ": " + message.split("\n")[0];
            }
            lines.add("line " + line + ": " + message);
            lines.add("    " + source.substring(lineStart, lineEnd));
            lines.add("    " + " ".repeat(Math.max(0, pos - lineStart)) + "^");
        }
        if (first == null) {
            first = "line " + firstLine + ": the snippet was rejected: " + source.strip().split("\n")[0];
            lines.add(first);
        }
        return new CompilationException(first, lines);
    }

    /** The traceback lines: each error, its source line and a caret under the column. */
    List<String> lines() {
        return lines;
    }
}
