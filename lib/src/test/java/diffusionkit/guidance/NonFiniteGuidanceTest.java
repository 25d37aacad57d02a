package diffusionkit.guidance;

import ai.djl.ndarray.NDManager;
import diffusionkit.models.UNet2DModel;
import diffusionkit.util.NonFiniteException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Guided sampling refuses a NaN or infinite guidance loss or gradient, naming the step and the likely causes. */
class NonFiniteGuidanceTest {

    static NDManager manager;
    static UNet2DModel unet;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        unet = UNet2DModel.fromPretrained(GuidedSamplerTest.UNET_A, manager);
    }

    @AfterAll
    static void close() {
        unet.close();
        manager.close();
    }

    static GuidedSampler.Builder sampler(GuidanceLoss loss, double scale) {
        return GuidedSampler.builder().setModel(unet).setScheduler(GuidedSamplerTest.ddim()).setLoss(loss)
                .optGuidanceScale(scale);
    }

    @Test
    void aNaNLossStopsAtTheFirstStep() {
        // log of a value in [-1, 1] that is negative somewhere: NaN
        GuidanceLoss logLoss = x0 -> x0.log().mean();
        for (GuidanceVariant v : GuidanceVariant.values()) {
            GuidedSampler s = sampler(logLoss, 1).optVariant(v).build();
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> s.sample(2, 4, 0).close(), v.name());
            assertEquals(0, e.step());
            assertTrue(e.getMessage().startsWith("Guided sampling stopped at step 0 (timestep "), e.getMessage());
            assertTrue(e.getMessage().contains("the guidance loss is NaN"), e.getMessage());
            assertTrue(e.getMessage().contains("guidance scale too large") && e.getMessage().contains("./kit info"),
                    e.getMessage());
        }
    }

    @Test
    void anInfiniteGradientOfAFiniteLossIsRefused() {
        // sqrt(x0 - x0) is 0 everywhere, and its derivative at 0 is infinite
        GuidanceLoss root = x0 -> x0.sub(x0.stopGradient()).sqrt().mean();
        GuidedSampler s = sampler(root, 1).optVariant(GuidanceVariant.X0_ONLY).build();
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> s.sample(1, 3, 0).close());
        assertTrue(e.getMessage().contains("the guidance gradient is NaN or infinite (the loss, 0.0, was finite)"),
                e.getMessage());
    }
}
