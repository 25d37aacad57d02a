package diffusionkit.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The Jupyter messaging protocol, checked by the jupyter_kernel_test suite (src/test/python/test_protocol.py). */
@Notebooks
class KernelProtocolTest {

    @Test
    void jupyterKernelTestSuitePasses() throws Exception {
        Jupyter jupyter = new Jupyter();
        Jupyter.Run run = jupyter.python(List.of("-m", "unittest", "-v", "test_protocol"), 300);
        System.out.println(run.output);
        assertEquals(0, run.exitCode, "jupyter_kernel_test failed:\n" + run.output);
        assertTrue(run.output.contains("Ran 9 tests"), "expected the 9 selected protocol tests:\n" + run.output);
        assertTrue(run.output.strip().endsWith("OK"), "expected OK without skips:\n" + run.output);
    }
}
