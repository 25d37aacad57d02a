package diffusionkit.models;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import diffusionkit.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static diffusionkit.models.UNet2DModelVectorsTest.checkCases;
import static diffusionkit.models.UNet2DModelVectorsTest.maxAbsDiff;
import static diffusionkit.models.UNet2DModelVectorsTest.vectors;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Config switches of the hub's google/ddpm-* checkpoints that the diffusers vectors leave at their defaults, checked
 * at model level through exact equivalences with the reference model (vectors/unet_a): a switch plus a matching
 * change of weights must give diffusers' own output.
 */
class UNetSwitchesTest {

    static NDManager manager;
    static UNet2DConfig config;
    static Map<String, NDArray> weights;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager(Device.cpu());
        config = UNet2DConfig.load(vectors("unet_a"));
        weights = Safetensors.read(vectors("unet_a/diffusion_pytorch_model.safetensors"), manager);
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static UNet2DModel model(UNet2DConfig c, Map<String, NDArray> stateDict) {
        UNet2DModel unet = new UNet2DModel(c, manager);
        unet.loadStateDict(stateDict);
        return unet;
    }

    @Test
    void flipSinToCosFalseIsTheReferenceWithTheEmbeddingHalvesSwapped() throws Exception {
        // flip_sin_to_cos=true embeds [cos, sin], false [sin, cos]: swapping the input columns of the first time
        // layer makes the two models the same function (google/ddpm-* use false)
        Map<String, NDArray> swapped = new LinkedHashMap<>(weights);
        NDArray w = weights.get("time_embedding.linear_1.weight"); // [128, 32]
        long half = w.getShape().get(1) / 2;
        swapped.put("time_embedding.linear_1.weight", NDArrays.concat(new ai.djl.ndarray.NDList(
                w.get(new NDIndex(":, {}:", half)), w.get(new NDIndex(":, :{}", half))), 1));
        try (UNet2DModel unet = model(config.with("flip_sin_to_cos", false), swapped)) {
            checkCases(unet, vectors("unet_a/io.safetensors"));
        }
        try (UNet2DModel unswapped = model(config.with("flip_sin_to_cos", false), weights);
                NDManager m = manager.newSubManager()) {
            Map<String, NDArray> io = Safetensors.read(vectors("unet_a/io.safetensors"), m);
            NDArray out = unswapped.forward(io.get("b2/sample"), io.get("b2/timestep"), null);
            assertTrue(maxAbsDiff(out, io.get("b2/out_sample")) > 1e-2, "the switch changes the function");
        }
    }

    @Test
    void addAttentionFalseIsTheMidBlockWithASilentAttention() throws Exception {
        // the mid attention adds to_out(...) to its input: with to_out zeroed it is the identity, which is what
        // add_attention=false leaves out (with its parameters: diffusers' key set has no mid_block.attentions.*)
        Map<String, NDArray> silent = new LinkedHashMap<>(weights);
        Map<String, NDArray> without = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : weights.entrySet()) {
            if (e.getKey().startsWith("mid_block.attentions.0.to_out.0.")) {
                silent.put(e.getKey(), e.getValue().zerosLike());
            }
            if (!e.getKey().startsWith("mid_block.attentions.")) {
                without.put(e.getKey(), e.getValue());
            }
        }
        try (UNet2DModel a = model(config, silent);
                UNet2DModel b = model(config.with("add_attention", false), without);
                NDManager m = manager.newSubManager()) {
            assertEquals(without.keySet(), b.stateDict().keySet());
            Map<String, NDArray> io = Safetensors.read(vectors("unet_a/io.safetensors"), m);
            NDArray x = io.get("b2/sample");
            NDArray t = io.get("b2/timestep");
            assertTrue(maxAbsDiff(a.forward(x, t, null), b.forward(x, t, null)) <= 1e-6);
            assertTrue(maxAbsDiff(b.forward(x, t, null), io.get("b2/out_sample")) > 1e-3, "the attention mattered");
        }
    }

    @Test
    void attentionHeadDimNullMeansOneHeadOfAllChannels() throws Exception {
        // diffusers: attention_head_dim=None gives each attention block one head of its block's channels (64 in
        // every attention block of unet_a), the layout of google/ddpm-*
        try (UNet2DModel none = model(config.with("attention_head_dim", null), weights);
                UNet2DModel one = model(config.with("attention_head_dim", 64), weights);
                NDManager m = manager.newSubManager()) {
            Map<String, NDArray> io = Safetensors.read(vectors("unet_a/io.safetensors"), m);
            NDArray x = io.get("b2/sample");
            NDArray t = io.get("b2/timestep");
            NDArray out = none.forward(x, t, null);
            assertEquals(0.0, maxAbsDiff(out, one.forward(x, t, null)), 1e-7);
            assertTrue(maxAbsDiff(out, io.get("b2/out_sample")) > 1e-3, "8 heads of 8 (the reference) differ from 1 of 64");
        }
    }
}
