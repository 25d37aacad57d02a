package io.github.spencerpark.ijava.runtime;

import java.util.List;

import diffusionkit.kernel.IJavaRuntime;

/**
 * IJava's {@code lineMagic} and {@code cellMagic}, statically imported in every cell: a magic called as a method, whose
 * value a cell can keep ({@code List<String> jars = lineMagic("jars", List.of("lib/*.jar"))}, which is what
 * {@code List<String> jars = %jars lib/*.jar} becomes).
 */
public final class Magics {

    private Magics() {
    }

    /** Runs a line magic; its value, cast to what the caller expects (unchecked, as in IJava). */
    @SuppressWarnings("unchecked")
    public static <T> T lineMagic(String name, List<String> args) {
        try {
            return (T) IJavaRuntime.lineMagic(name, args);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new RuntimeException("line magic %" + name + " failed: " + e.getMessage(), e);
        }
    }

    /** Runs a cell magic with its body; its value. */
    @SuppressWarnings("unchecked")
    public static <T> T cellMagic(String name, List<String> args, String body) {
        try {
            return (T) IJavaRuntime.cellMagic(name, args, body);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new RuntimeException("cell magic %%" + name + " failed: " + e.getMessage(), e);
        }
    }
}
