package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The buffered cell output: characters are never split, println does not send, sendAll does. */
class CellOutputTest {

    @Test
    void multiByteCharactersSplitAcrossWritesArriveWhole() {
        List<String> chunks = new ArrayList<>();
        byte[] bytes = "é€😀".getBytes(StandardCharsets.UTF_8); // 2 + 3 + 4 bytes
        CellOutput.Stream stream = new CellOutput.Stream(chunks::add);
        for (byte b : bytes) {
            stream.write(b); // one byte at a time: every character arrives in pieces
            stream.send();   // sending in between must not split a character
        }
        assertEquals(List.of("é", "€", "😀"), chunks);
    }

    @Test
    void printlnIsBufferedUntilSent() {
        List<String> out = new ArrayList<>();
        List<String> err = new ArrayList<>();
        try (CellOutput output = new CellOutput(out::add, err::add)) {
            // the timer may send at any moment: what matters is the text in total and the number of chunks
            for (int i = 0; i < 1000; i++) {
                output.out().println("line " + i);
            }
            output.err().print("oops");
            output.sendAll();
            String text = String.join("", out);
            assertEquals(1000, text.split("\n").length);
            assertTrue(text.startsWith("line 0\nline 1\n") && text.endsWith("line 998\nline 999\n"));
            assertEquals("oops", String.join("", err));
            assertTrue(out.size() < 100, "chunks, not one message per println: " + out.size());
        }
    }
}
