package diffusionkit.cli;

import ai.djl.engine.EngineException;
import org.junit.jupiter.api.Test;

import java.net.UnknownHostException;

import static org.junit.jupiter.api.Assertions.*;

/** The command line's error handling: DJL's native-library failures get a hint that names the fix. */
class MainTest {

    @Test
    void aGpuBuildWithoutInternetIsToldWhatToDo() {
        // what DJL 0.36 throws offline on a -Pgpu build (measured: ./kit info without internet)
        Exception djl = new EngineException("Failed to save pytorch index file", new UnknownHostException("publish.djl.ai"));
        Exception wrapped = new picocli.CommandLine.ExecutionException(new picocli.CommandLine(new Main()), "x", djl);
        String hint = Main.nativeLibraryHint(wrapped, false);
        assertTrue(hint.contains("PYTORCH_LIBRARY_PATH") && hint.contains("2.7.1") && hint.contains("without --gpu"), hint);
        assertTrue(Main.nativeLibraryHint(djl, true).contains("pytorch-native-cpu"));
        assertNull(Main.nativeLibraryHint(new IllegalArgumentException("--steps must be positive"), false));
    }

    @Test
    void theTestsRunOnTheCpuBuildWhoseNativesTheHintLooksFor() {
        assertNotNull(Main.class.getClassLoader().getResource("pytorch/cpu/"), "the CPU natives jar's folder");
    }
}
