package diffusionkit.util;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DeviceChoiceTest {

    @Test
    void autoPicksTheGpuWhenThereIsOne() {
        assertEquals(Device.gpu(), DeviceChoice.decide(null, null, 1).device());
        assertEquals(Device.cpu(), DeviceChoice.decide(null, null, 0).device());
        assertTrue(DeviceChoice.decide(null, null, 0).reason().contains("no GPU"));
    }

    @Test
    void thePropertyWinsOverTheEnvironment() {
        DeviceChoice.Decision d = DeviceChoice.decide("cpu", "gpu", 2);
        assertEquals(Device.cpu(), d.device());
        assertTrue(d.reason().contains(DeviceChoice.PROPERTY));
        assertEquals(Device.gpu(1), DeviceChoice.decide(null, "gpu:1", 2).device());
    }

    @Test
    void askingForAMissingGpuOrNonsenseIsAClearError() {
        var e = assertThrows(IllegalStateException.class, () -> DeviceChoice.decide(null, "gpu", 0));
        assertTrue(e.getMessage().contains("sees 0 GPU"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.decide("tpu", null, 0));
        assertTrue(e2.getMessage().contains("auto, cpu, gpu"), e2.getMessage());
    }

    @Test
    void thisMachineGetsADevice() {
        assertNotNull(DeviceChoice.device());
        assertFalse(DeviceChoice.explain().isBlank());
    }
}
