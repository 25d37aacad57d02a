package diffusionkit.guidance;

import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import diffusionkit.pipelines.PipelineOutput;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/**
 * PyTorch's gradient mode is per thread and starts ON in new threads (a web server's worker, a notebook kernel's
 * snippet thread). Guided and plain sampling must give the same result there as on the main thread.
 */
class GuidanceThreadTest {

    @Test
    void samplingOnAFreshThreadEqualsTheMainThread() throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(Path.of("src/test/resources/vectors/unet_a"), m)) {
            for (GuidanceVariant v : GuidanceVariant.values()) {
                GuidedSampler s = GuidedSampler.builder().setPipeline(pipe).setLoss(ColorLoss.course())
                        .optVariant(v).optGuidanceScale(5).build();
                float[] here;
                try (GuidedOutput o = s.sample(1, 4, 9)) {
                    here = o.images().toFloatArray();
                }
                float[] there = CompletableFuture.supplyAsync(() -> {
                    try (GuidedOutput o = s.sample(1, 4, 9)) {
                        return o.images().toFloatArray();
                    }
                }, r -> new Thread(r).start()).get();
                assertArrayEquals(here, there, 1e-5f, v.toString());
            }
            float[] plain;
            try (PipelineOutput o = pipe.generateDdim(1, 3, 4)) {
                plain = o.images().toFloatArray();
            }
            float[] plainThere = CompletableFuture.supplyAsync(() -> {
                try (PipelineOutput o = pipe.generateDdim(1, 3, 4)) {
                    return o.images().toFloatArray();
                }
            }, r -> new Thread(r).start()).get();
            assertArrayEquals(plain, plainThere, 1e-5f);
        }
    }
}
