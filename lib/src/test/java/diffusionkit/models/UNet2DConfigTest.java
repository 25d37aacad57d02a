package diffusionkit.models;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** UNet2DConfig: diffusers key spelling, defaults of diffusers v0.31, round trip, clear rejections. */
class UNet2DConfigTest {

    static Path config(String name) {
        return UNet2DModelVectorsTest.vectors(name + "/config.json");
    }

    @Test
    void readsTheDiffusersConfig() throws Exception {
        UNet2DConfig c = UNet2DConfig.load(config("unet_b"));
        assertArrayEquals(new int[] {32, 64, 64}, c.blockOutChannels());
        assertEquals(List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"), c.downBlockTypes());
        assertEquals(List.of("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"), c.upBlockTypes());
        assertEquals(5, c.inChannels());
        assertEquals(1, c.outChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(32, c.normNumGroups());
        assertNull(c.attnNormNumGroups());
        assertEquals(8, c.attentionHeadDim());
        assertEquals(1e-5, c.normEps());
        assertArrayEquals(new int[] {28, 28}, c.sampleSize());
        assertTrue(c.flipSinToCos());
        assertEquals(0.0, c.freqShift());
        assertNull(c.numClassEmbeds());
        assertEquals(128, c.timeEmbedDim());
        c.validate();
    }

    @Test
    void defaultsAreThoseOfDiffusers() {
        UNet2DConfig d = UNet2DConfig.defaults();
        // UNet2DModel.__init__ defaults in diffusers v0.31 (models/unets/unet_2d.py)
        assertArrayEquals(new int[] {224, 448, 672, 896}, d.blockOutChannels());
        assertEquals(List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"), d.downBlockTypes());
        assertEquals(List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"), d.upBlockTypes());
        assertEquals(3, d.inChannels());
        assertEquals(2, d.layersPerBlock());
        assertEquals(32, d.normNumGroups());
        assertEquals("silu", d.get(UNet2DConfig.ACT_FN));
        assertEquals("positional", d.get(UNet2DConfig.TIME_EMBEDDING_TYPE));
        assertEquals("conv", d.get(UNet2DConfig.DOWNSAMPLE_TYPE));
        assertEquals(1, d.downsamplePadding());
        assertEquals(1.0, d.midBlockScaleFactor());
        assertTrue(d.addAttention());
        assertNull(d.sampleSize());
    }

    @Test
    void savedConfigHasTheDiffusersKeysAndKeepsUnknownOnes(@TempDir Path dir) throws Exception {
        JsonObject ref = JsonParser.parseString(Files.readString(config("unet_a"))).getAsJsonObject();
        UNet2DConfig c = UNet2DConfig.load(config("unet_a")).with("my_extra_key", List.of(1, 2));
        c.save(dir);
        JsonObject saved = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        Set<String> expected = new java.util.TreeSet<>(ref.keySet());
        expected.add("my_extra_key");
        assertEquals(expected, new java.util.TreeSet<>(saved.keySet()));
        for (String k : ref.keySet()) {
            assertEquals(ref.get(k), saved.get(k), k);
        }
        assertEquals("[1,2]", saved.get("my_extra_key").toString());
        assertEquals(c, UNet2DConfig.load(dir));
        // a config written from defaults has every key diffusers writes
        JsonObject fromDefaults = UNet2DConfig.defaults().toJsonObject();
        assertEquals(new java.util.TreeSet<>(ref.keySet()), new java.util.TreeSet<>(fromDefaults.keySet()));
    }

    static String rejection(UNet2DConfig c) {
        return assertThrows(IllegalArgumentException.class, c::validate).getMessage();
    }

    @Test
    void unknownBlockTypeIsRejectedNamingTheKey() throws Exception {
        UNet2DConfig a = UNet2DConfig.load(config("unet_a"));
        String msg = rejection(a.with("down_block_types", List.of("DownBlock2D", "CrossAttnDownBlock2D")));
        assertTrue(msg.contains("down_block_types[1]") && msg.contains("CrossAttnDownBlock2D")
                && msg.contains("AttnDownBlock2D"), msg);
        msg = rejection(a.with("up_block_types", List.of("AttnSkipUpBlock2D", "UpBlock2D")));
        assertTrue(msg.contains("up_block_types[0]") && msg.contains("AttnSkipUpBlock2D"), msg);
        // the model constructor refuses it as well
        assertThrows(IllegalArgumentException.class,
                () -> new UNet2DModel(a.with("down_block_types", List.of("DownBlock2D", "CrossAttnDownBlock2D"))));
    }

    @Test
    void unsupportedSettingsAreRejectedNamingKeyAndSupportedValues() throws Exception {
        UNet2DConfig a = UNet2DConfig.load(config("unet_a"));
        String msg = rejection(a.with("act_fn", "gelu"));
        assertTrue(msg.contains("'act_fn'") && msg.contains("gelu") && msg.contains("silu"), msg);
        msg = rejection(a.with("time_embedding_type", "fourier"));
        assertTrue(msg.contains("'time_embedding_type'") && msg.contains("positional"), msg);
        msg = rejection(a.with("class_embed_type", "timestep"));
        assertTrue(msg.contains("'class_embed_type'") && msg.contains("num_class_embeds"), msg);
        msg = rejection(a.with("resnet_time_scale_shift", "scale_shift"));
        assertTrue(msg.contains("'resnet_time_scale_shift'") && msg.contains("default"), msg);
        msg = rejection(a.with("downsample_type", "resnet"));
        assertTrue(msg.contains("'downsample_type'") && msg.contains("conv"), msg);
        msg = rejection(a.with("upsample_type", "resnet"));
        assertTrue(msg.contains("'upsample_type'"), msg);
        msg = rejection(a.with("block_out_channels", List.of(32, 64, 64)));
        assertTrue(msg.contains("block_out_channels"), msg);
        msg = rejection(a.with("norm_num_groups", 6));
        assertTrue(msg.contains("norm_num_groups"), msg);
        msg = rejection(a.with("attention_head_dim", 128));
        assertTrue(msg.contains("'attention_head_dim' = 128") && msg.contains("down_blocks.1 (64 channels)")
                && msg.contains("up_blocks.0 (64 channels)") && msg.contains("mid_block (64 channels)")
                && msg.contains("or null"), msg);
        a.with("attention_head_dim", 64).validate();
        assertFalse(a.with("act_fn", "swish").toJsonObject().isJsonNull());
        a.with("act_fn", "swish").validate();
    }
}
