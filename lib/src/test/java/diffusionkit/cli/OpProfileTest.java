package diffusionkit.cli;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** Self times from a Chrome trace, against sums done by hand. */
class OpProfileTest {

    @Test
    void selfTimeIsDurationLessNestedCallsPerThread() {
        // thread 1: conv [0, 100) calls mm [10, 40) which calls empty [15, 20); then mm [100, 130) on its own;
        // thread 2: conv [5, 55) overlaps thread 1 in time but nests in nothing; "i" (instant) events are ignored
        String trace = """
                {"traceEvents": [
                  {"ph": "X", "name": "conv", "pid": 1, "tid": 1, "ts": 0, "dur": 100},
                  {"ph": "X", "name": "mm", "pid": 1, "tid": 1, "ts": 10, "dur": 30},
                  {"ph": "X", "name": "empty", "pid": 1, "tid": 1, "ts": 15, "dur": 5},
                  {"ph": "X", "name": "mm", "pid": 1, "tid": 1, "ts": 100, "dur": 30},
                  {"ph": "X", "name": "conv", "pid": 1, "tid": 2, "ts": 5, "dur": 50},
                  {"ph": "i", "name": "marker", "pid": 1, "tid": 1, "ts": 12}
                ]}""";
        List<OpProfile.Row> rows = OpProfile.selfTimes(JsonParser.parseString(trace));
        Map<String, OpProfile.Row> by = rows.stream().collect(Collectors.toMap(OpProfile.Row::name, r -> r));
        assertEquals(3, rows.size());
        assertEquals((100 - 30 + 50) / 1000.0, by.get("conv").selfMs(), 1e-12);
        assertEquals((30 - 5 + 30) / 1000.0, by.get("mm").selfMs(), 1e-12);
        assertEquals(5 / 1000.0, by.get("empty").selfMs(), 1e-12);
        assertEquals(2, by.get("conv").calls());
        assertEquals(2, by.get("mm").calls());
        assertEquals("conv", rows.get(0).name());                       // largest first
        assertEquals(120.0 / 180, by.get("conv").share(), 1e-12);      // self times sum to the threads' busy time
        List<String> table = OpProfile.table("t", rows, 2, 2.0).lines().toList();
        assertEquals(4, table.size(), "title, header and the top 2");
        assertTrue(table.get(0).endsWith("0 ms of operator self time in 2 ms of wall time (2 ms outside the operators)"), table.get(0));
        assertTrue(table.get(2).endsWith("conv") && table.get(2).contains("66.7%"), table.get(2));
        assertTrue(table.get(3).endsWith("mm"), table.get(3));
    }
}
