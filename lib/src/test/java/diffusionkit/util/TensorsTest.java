package diffusionkit.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Copies into a parameter that requires gradients: values, type conversion, shape check, the source untouched. */
class TensorsTest {

    @Test
    void copiesValuesIntoAParameterConvertingTheType() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray target = m.zeros(new Shape(2, 3));
            target.setRequiresGradient(true);
            NDArray src = m.create(new double[] {1, -2.5, 3, 4, 5e-8, 6}, new Shape(2, 3));
            Tensors.copyInto(src, target);
            assertArrayEquals(new float[] {1, -2.5f, 3, 4, 5e-8f, 6}, target.toFloatArray());
            assertEquals(DataType.FLOAT32, target.getDataType());
            assertTrue(target.hasGradient(), "still a parameter");
            assertEquals(DataType.FLOAT64, src.getDataType());
            assertEquals(-2.5, src.toDoubleArray()[1]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensors.copyInto(m.ones(new Shape(3, 2)), target));
            assertTrue(e.getMessage().contains("(3, 2)") && e.getMessage().contains("(2, 3)"), e.getMessage());
        }
    }
}
