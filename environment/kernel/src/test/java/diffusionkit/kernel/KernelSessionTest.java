package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One kernel driven through jupyter_client (src/test/python/kernel_session.py): recovery after an exception,
 * bounded memory over 50 big allocations, interrupt of an endless loop, and the start-up time (printed, not asserted).
 */
class KernelSessionTest {

    private static JsonObject report;

    @BeforeAll
    static void runSession() throws Exception {
        Jupyter jupyter = new Jupyter();
        Jupyter.Run run = jupyter.python(List.of("kernel_session.py"), 400);
        assertEquals(0, run.exitCode, "kernel_session.py failed:\n" + run.output);
        String[] lines = run.output.strip().split("\n");
        report = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        System.out.println("kernel session report: " + report);
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
