package diffusionkit.training;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;
import diffusionkit.util.SeededNoise;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where a run stood when a checkpoint was written: the contents of {@code trainer_state.json}.
 *
 * @param globalStep optimiser updates done
 * @param epoch the epoch in progress (0-based)
 * @param batchInEpoch micro-batches of that epoch already consumed (the next one to load)
 * @param rngState the noise/timestep generator's {@link SeededNoise#state()} (stored as hex strings)
 * @param learningRate the learning rate in use
 * @param epochLossSum sum of this epoch's update losses so far (for the epoch mean after a resume)
 * @param epochSteps updates in this epoch so far
 * @param emaSteps EMA updates done (0 without EMA)
 * @param configJson the run's {@link TrainingConfig#toJson()}
 */
public record TrainerState(long globalStep, int epoch, int batchInEpoch, long[] rngState, double learningRate,
        double epochLossSum, long epochSteps, long emaSteps, String configJson) {

    /** The file name inside a checkpoint folder. */
    public static final String FILE_NAME = "trainer_state.json";

    /** The JSON text. */
    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("global_step", globalStep);
        o.addProperty("epoch", epoch);
        o.addProperty("batch_in_epoch", batchInEpoch);
        o.add("rng_state", TrainingConfig.GSON.toJsonTree(Arrays.stream(rngState).mapToObj(Long::toHexString).toList()));
        o.addProperty("learning_rate", learningRate);
        o.addProperty("epoch_loss_sum", epochLossSum);
        o.addProperty("epoch_steps", epochSteps);
        o.addProperty("ema_steps", emaSteps);
        o.add("config", JsonParser.parseString(configJson));
        return TrainingConfig.GSON.toJson(o) + "\n";
    }

    /** Reads {@code trainer_state.json}; a damaged file gives an error that names it and the fix. */
    public static TrainerState read(Path file) throws IOException {
        try {
            JsonObject o = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
            long[] rng = o.getAsJsonArray("rng_state").asList().stream()
                    .mapToLong(v -> Long.parseUnsignedLong(v.getAsString(), 16)).toArray();
            JsonElement cfg = o.get("config");
            return new TrainerState(o.get("global_step").getAsLong(), o.get("epoch").getAsInt(),
                    o.get("batch_in_epoch").getAsInt(), rng, o.get("learning_rate").getAsDouble(),
                    o.get("epoch_loss_sum").getAsDouble(), o.get("epoch_steps").getAsLong(), o.get("ema_steps").getAsLong(),
                    cfg == null ? "{}" : cfg.toString());
        } catch (RuntimeException e) {
            throw new CheckpointException(file + ": not a valid trainer state (" + e.getMessage()
                    + "). Resume from another checkpoint folder, or delete this one.");
        }
    }

    /** The stored config as a JSON object. */
    public JsonObject config() {
        return JsonParser.parseString(configJson).getAsJsonObject();
    }
}
