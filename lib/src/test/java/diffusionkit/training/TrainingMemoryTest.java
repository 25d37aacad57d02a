package diffusionkit.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training step leaves nothing behind in the parameters' manager: the NaN check, gradient clipping, the AdamW step
 * and zeroing the gradients free what they make (a square of every gradient left there per step grew a CLIP run by
 * 25 MB a step, the size of its token embedding's gradient).
 */
class TrainingMemoryTest {

    @Test
    void aStepAddsNoArrayToTheParametersManager() {
        try (NDManager root = NDManager.newBaseManager(Device.cpu()); NDManager pm = root.newSubManager()) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("w", pm.randomNormal(new Shape(64, 32)));
            params.put("b", pm.zeros(new Shape(32)));
            params.values().forEach(p -> p.setRequiresGradient(true));
            AdamW adam = AdamW.builder().optLearningRate(1e-3).optWeightDecay(0.1).build();
            int before = -1;
            for (int step = 1; step <= 3; step++) {
                try (NDManager sm = root.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = sm.randomNormal(new Shape(8, 64));
                    NDArray loss = x.matMul(params.get("w")).add(params.get("b")).square().mean();
                    gc.backward(loss);
                    loss.attach(sm);
                }
                TrainingChecks.requireFinite("test", 1.0, params, step, 0, 1e-3, () -> null);
                AdamW.clipGradNorm(params, 0.5);
                adam.step(params);
                AdamW.zeroGradients(params);
                if (step == 1) {
                    before = pm.getManagedArrays().size(); // AdamW's moments are made at the first step
                }
            }
            assertEquals(before, pm.getManagedArrays().size(), "arrays left in the parameters' manager by two steps");
        }
    }
}
