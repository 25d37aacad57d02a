package diffusionkit.models;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import diffusionkit.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** UNet2DModel against diffusers v0.31 reference outputs (vectors/unet_a, unet_b, unet_a_legacy_attn_names). */
class UNet2DModelVectorsTest {

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static Path vectors(String name) {
        try {
            return Path.of(UNet2DModelVectorsTest.class.getResource("/vectors/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static double maxAbsDiff(NDArray a, NDArray b) {
        assertEquals(b.getShape(), a.getShape());
        try (NDArray d = a.sub(b).abs(); NDArray m = d.max()) {
            return m.getFloat();
        }
    }

    /** Runs every case of io.safetensors (b2: one timestep per sample; t_scalar: one timestep broadcast). */
    static void checkCases(UNet2DModel unet, Path io) throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> t = Safetensors.read(io, m);
            for (String c : new String[] {"b2", "t_scalar"}) {
                NDArray out = unet.forward(t.get(c + "/sample"), t.get(c + "/timestep"), null);
                double diff = maxAbsDiff(out, t.get(c + "/out_sample"));
                System.out.printf("%s %s: max |out - diffusers| = %.3g%n", io.getParent().getFileName(), c, diff);
                assertTrue(diff <= 1e-4, io + " case " + c + ": max |out - diffusers| = " + diff);
            }
            // a Java scalar timestep is broadcast like a Python int
            NDArray out = unet.forward(t.get("t_scalar/sample"), t.get("t_scalar/timestep").getLong(0), null);
            assertTrue(maxAbsDiff(out, t.get("t_scalar/out_sample")) <= 1e-4);
            // a 0-d timestep array as well
            try (NDArray scalar = m.create(t.get("t_scalar/timestep").getLong(0))) {
                out = unet.forward(t.get("t_scalar/sample"), scalar, null);
                assertTrue(maxAbsDiff(out, t.get("t_scalar/out_sample")) <= 1e-4);
            }
        }
    }

    @Test
    void unetAMatchesDiffusers() throws Exception {
        try (UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_a"), manager)) {
            checkCases(unet, vectors("unet_a/io.safetensors"));
        }
    }

    @Test
    void unetBMatchesDiffusers() throws Exception {
        try (UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_b"), manager)) {
            checkCases(unet, vectors("unet_b/io.safetensors"));
        }
    }

    /**
     * At batch 48 the attention's score matrices (48 x 8 heads x 196^2 floats at 14x14) exceed Attention's chunk, so
     * they are computed a slice of heads at a time: every sample still gives diffusers' output.
     */
    @Test
    void largeBatchesAttendInChunksWithDiffusersOutput() throws Exception {
        try (UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_b"), manager);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> t = Safetensors.read(vectors("unet_b/io.safetensors"), m);
            NDArray x = t.get("b2/sample"), ts = t.get("b2/timestep"), expected = t.get("b2/out_sample");
            int copies = 24;
            assertTrue(2L * copies * 8 * 196 * 196 * 4 > Attention.CHUNK_BYTES, "the batch must be chunked");
            NDArray big = x.tile(new long[] {copies, 1, 1, 1});           // [48, 5, 28, 28]: samples 0, 1, 0, 1, ...
            NDArray bigT = ts.tile((long) copies);
            NDArray out = unet.forward(big, bigT, null);
            double diff = maxAbsDiff(out, expected.tile(new long[] {copies, 1, 1, 1}));
            System.out.printf("unet_b at batch %d: max |out - diffusers| = %.3g%n", 2 * copies, diff);
            assertTrue(diff <= 1e-4, "batch " + 2 * copies + ": max |out - diffusers| = " + diff);
        }
    }

    /** The chunked attention gives the same values and input gradients as one pass over every head. */
    @Test
    void chunkedAttentionEqualsOnePass() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray q = m.randomNormal(new ai.djl.ndarray.types.Shape(10, 49, 8));
            NDArray k = m.randomNormal(new ai.djl.ndarray.types.Shape(10, 8, 49));
            NDArray v = m.randomNormal(new ai.djl.ndarray.types.Shape(10, 49, 8));
            NDArray w = m.randomNormal(new ai.djl.ndarray.types.Shape(10, 49, 8));   // a fixed weighting for the loss
            NDArray[] whole = valueAndGradients(q, k, v, w, 10);
            for (long chunk : new long[] {1, 3, 7}) {
                NDArray[] parts = valueAndGradients(q, k, v, w, chunk);
                for (int i = 0; i < 4; i++) {
                    assertTrue(maxAbsDiff(parts[i], whole[i]) <= 1e-5, "chunk " + chunk + ", output " + i);
                }
            }
        }
    }

    private static NDArray[] valueAndGradients(NDArray q, NDArray k, NDArray v, NDArray w, long chunk) {
        NDArray[] leaves = {q.duplicate(), k.duplicate(), v.duplicate()};
        for (NDArray a : leaves) {
            a.setRequiresGradient(true);
        }
        NDArray out;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            out = Attention.multiHead(leaves[0], leaves[1], leaves[2], chunk);
            gc.backward(out.mul(w).sum());
        }
        return new NDArray[] {out.stopGradient(), leaves[0].getGradient(), leaves[1].getGradient(), leaves[2].getGradient()};
    }

    @Test
    void legacyAttentionNamesGiveUnetAOutput() throws Exception {
        try (UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_a_legacy_attn_names"), manager)) {
            checkCases(unet, vectors("unet_a/io.safetensors"));
        }
    }

    @Test
    void inputGradientMatchesDiffusers() throws Exception {
        try (UNet2DModel unet = UNet2DModel.fromPretrained(vectors("unet_a"), manager);
             NDManager m = manager.newSubManager()) {
            Map<String, NDArray> g = Safetensors.read(vectors("unet_a/grad_input.safetensors"), m);
            NDArray x = g.get("sample");
            x.setRequiresGradient(true);
            NDArray loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = unet.forward(x, g.get("timestep"), null, false);
                NDArray d = out.sub(g.get("target"));
                loss = d.square().mean();
                gc.backward(loss);
            }
            assertEquals(g.get("loss").getFloat(0), loss.getFloat(), 1e-5);
            NDArray grad = x.getGradient();
            NDArray ref = g.get("grad_sample");
            double scale = ref.abs().max().getFloat();
            double diff = maxAbsDiff(grad, ref);
            System.out.printf("grad_input: max |g - diffusers| = %.3g, max |ref| = %.3g%n", diff, scale);
            assertTrue(diff <= 1e-4 * scale, "max |grad - diffusers| = " + diff + " vs max |ref| = " + scale);
            // parameters received gradients too
            NDArray wGrad = unet.stateDictParameters().get("conv_in.weight").getArray().getGradient();
            assertTrue(wGrad.abs().sum().getFloat() > 0);
        }
    }
}
