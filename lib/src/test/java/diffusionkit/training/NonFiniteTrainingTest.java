package diffusionkit.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import diffusionkit.data.ImageDataset;
import diffusionkit.models.UNet2DModel;
import diffusionkit.util.NonFiniteException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static diffusionkit.training.TinyTraining.*;
import static org.junit.jupiter.api.Assertions.*;

/** A NaN or infinite loss or gradient stops training at once, with the step, the cause and the last checkpoint. */
class NonFiniteTrainingTest {

    @Test
    void aNaNLossStopsTheRunKeepingTheLastGoodWeightsAndCheckpoint(@TempDir Path dir) throws IOException {
        ImageDataset data = faces(8, 8, 1);
        Path log = dir.resolve("run");
        try (NDManager m = NDManager.newBaseManager(); UNet2DModel unet = model(m, 8, 1)) {
            TrainingConfig cfg = DiffusionTrainerTest.base().optBatchSize(4).optNumEpochs(3).optLogDir(log)
                    .optSaveModelEvery(2).optMaxSteps(2).build();
            DiffusionTrainer t = new DiffusionTrainer(unet, scheduler(), data, cfg);
            assertEquals(2, t.train().steps());
            DiffusionTrainer again = new DiffusionTrainer(unet, scheduler(), data,
                    DiffusionTrainerTest.base().optBatchSize(4).optNumEpochs(3).optLogDir(log).optSaveModelEvery(2).build());
            again.resume(log);
            // a weight goes bad after the resume (as a broken gradient would leave it): the next step's loss is NaN
            unet.stateDict().get("conv_out.bias").set(new float[] {Float.NaN, 0f, 0f});
            Map<String, float[]> before = weights(unet.stateDict());
            NonFiniteException e = assertThrows(NonFiniteException.class, again::train);
            String msg = e.getMessage();
            assertEquals(3, e.step());
            assertTrue(msg.startsWith("Training stopped at step 3 (epoch 1): the loss is NaN."), msg);
            assertTrue(msg.contains("they are those of step 2"), msg);
            assertTrue(msg.contains("The last good checkpoint is " + Checkpoints.folder(log, 2)), msg);
            assertTrue(msg.contains("learning rate too high") && msg.contains("outside [-1, 1]")
                    && msg.contains("./kit info"), msg);
            // nothing was updated with the NaN step, and no checkpoint or final model was written after it
            Map<String, float[]> after = weights(unet.stateDict());
            for (String k : before.keySet()) {
                assertArrayEquals(before.get(k), after.get(k), k);
            }
            assertEquals(List.of(Checkpoints.folder(log, 2)), Checkpoints.list(log));
        }
    }

    @Test
    void anInfiniteGradientWithAFiniteLossIsNamed() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray good = m.create(new float[] {1f, 2f});
            NDArray sqrtArg = m.create(new float[] {0f, 4f});       // d sqrt(p)/dp at 0 is +inf; sqrt(0) = 0 is finite
            good.setRequiresGradient(true);
            sqrtArg.setRequiresGradient(true);
            double loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = good.square().sum().add(sqrtArg.sqrt().sum());
                gc.backward(l);
                loss = l.getFloat();
            }
            assertEquals(7.0, loss, 1e-6); // 1 + 4 + 0 + 2
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("good", good);
            params.put("root", sqrtArg);
            assertEquals("root", TrainingChecks.firstNonFiniteGradient(params));
            NonFiniteException e = assertThrows(NonFiniteException.class,
                    () -> TrainingChecks.requireFinite("fine-tuning", loss, params, 12, 0, 1e-4, () -> null));
            assertTrue(e.getMessage().startsWith("Fine-tuning stopped at step 12 (epoch 0): the gradient of 'root' is NaN "
                    + "or infinite (the loss, 7.0, was finite)."), e.getMessage());
            assertTrue(e.getMessage().contains("No checkpoint was written"), e.getMessage());
            // the gradients were zeroed, so nothing carries the infinity into a later step
            assertArrayEquals(new float[] {0f, 0f}, sqrtArg.getGradient().toFloatArray());
            assertNull(TrainingChecks.firstNonFiniteGradient(params));
            // and finite ones pass
            assertDoesNotThrow(() -> TrainingChecks.requireFinite("fine-tuning", 1.0, params, 13, 0, 1e-4, () -> null));
        }
    }

    @Test
    void aLessonsRunMustBeFiniteAndFalling() {
        List<Double> falling = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            falling.add(1.0 / (i + 1));
        }
        // first fifth: steps 1-4, mean (1 + 1/2 + 1/3 + 1/4) / 4 = 0.5208; last: steps 17-20, mean 0.0543
        assertEquals("20 losses, all finite; the loss fell from 0.5208 (mean of steps 1-4) to 0.0543 (steps 17-20)",
                TrainingChecks.requireFiniteAndFalling(falling));
        List<Double> rising = new java.util.ArrayList<>(falling);
        java.util.Collections.reverse(rising);
        IllegalStateException up = assertThrows(IllegalStateException.class, () -> TrainingChecks.requireFiniteAndFalling(rising));
        assertTrue(up.getMessage().startsWith("the loss did not fall: 20 losses, all finite; the loss went from 0.0543"),
                up.getMessage());
        List<Double> withNaN = new java.util.ArrayList<>(falling);
        withNaN.set(6, Double.NaN);
        assertEquals("the loss of step 7 is NaN",
                assertThrows(IllegalStateException.class, () -> TrainingChecks.requireFiniteAndFalling(withNaN)).getMessage());
        assertEquals("3 losses, all finite (too few steps to judge a trend)",
                TrainingChecks.requireFiniteAndFalling(List.of(0.3, 0.5, 0.4)));
    }
}
