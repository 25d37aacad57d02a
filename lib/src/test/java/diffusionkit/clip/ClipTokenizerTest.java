package diffusionkit.clip;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Reader;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token ids against transformers' CLIPTokenizer and OpenAI's clip.tokenize ({@code vectors/clip/tokens.json}). */
class ClipTokenizerTest {

    static Path folder;
    static ClipTokenizer tokenizer;
    static JsonArray prompts;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        Path vectors = Path.of(ClipTokenizerTest.class.getResource("/vectors/clip/tokens.json").toURI()).getParent();
        folder = vectors.resolve("clip_tiny");
        tokenizer = ClipTokenizer.fromPretrained(folder);
        try (Reader r = Files.newBufferedReader(vectors.resolve("tokens.json"))) {
            prompts = JsonParser.parseReader(r).getAsJsonObject().getAsJsonArray("prompts");
        }
        assertEquals(14, prompts.size());
    }

    static int[] ints(JsonElement e) {
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    @Test
    void huggingFaceIdsMaskAndTokensEqualTransformers() {
        assertEquals(49406, tokenizer.bosTokenId());
        assertEquals(49407, tokenizer.eosTokenId());
        assertEquals(49408, tokenizer.vocabSize());
        assertEquals(77, tokenizer.contextLength());
        for (JsonElement pe : prompts) {
            JsonObject p = pe.getAsJsonObject();
            String text = p.get("text").getAsString();
            ClipTokenizer.Encoding e = tokenizer.encodePlus(text);
            assertArrayEquals(ints(p.get("hf_ids_padded")), e.inputIds(), text);
            assertArrayEquals(ints(p.get("hf_ids_padded")), tokenizer.encode(text), text);
            assertArrayEquals(ints(p.get("attention_mask")), e.attentionMask(), text);
            assertArrayEquals(ints(p.get("hf_ids")), tokenizer.encode(text, ClipTokenizer.Padding.NONE), text);
            List<String> expectedTokens = new ArrayList<>();
            p.getAsJsonArray("hf_tokens").forEach(t -> expectedTokens.add(t.getAsString()));
            List<String> tokens = new ArrayList<>(tokenizer.tokenize(text));
            if (!p.get("truncated").getAsBoolean()) {
                tokens.add(0, ClipTokenizer.START_OF_TEXT);
                tokens.add(ClipTokenizer.END_OF_TEXT);
                assertEquals(expectedTokens, tokens, text);
            }
            List<Integer> untruncated = tokenizer.tokenIds(text);
            int[] full = ints(p.get("hf_ids_untruncated"));
            assertEquals(full.length - 2, untruncated.size(), text);
            for (int i = 0; i < untruncated.size(); i++) {
                assertEquals(full[i + 1], untruncated.get(i), text);
            }
        }
    }

    @Test
    void openAiZeroPaddedIdsEqualClipTokenize() {
        int truncated = 0;
        for (JsonElement pe : prompts) {
            JsonObject p = pe.getAsJsonObject();
            String text = p.get("text").getAsString();
            assertArrayEquals(ints(p.get("openai_ids")), tokenizer.encode(text, ClipTokenizer.Padding.ZEROS), text);
            if (p.get("truncated").getAsBoolean()) {
                truncated++;
                assertEquals(79, p.get("n_tokens_untruncated").getAsInt());
                assertEquals(49407, tokenizer.encode(text)[76]);
            }
        }
        assertEquals(1, truncated);
    }

    @Test
    void batchIsInt64WithMask() {
        try (NDManager m = NDManager.newBaseManager()) {
            List<String> texts = new ArrayList<>();
            for (JsonElement pe : prompts) {
                texts.add(pe.getAsJsonObject().get("text").getAsString());
            }
            ClipTokenizer.Batch b = tokenizer.encodeBatch(texts, ClipTokenizer.Padding.EOS, m);
            assertEquals(ai.djl.ndarray.types.DataType.INT64, b.inputIds().getDataType());
            assertEquals(new ai.djl.ndarray.types.Shape(14, 77), b.inputIds().getShape());
            long[] ids = b.inputIds().toLongArray();
            long[] mask = b.attentionMask().toLongArray();
            for (int i = 0; i < texts.size(); i++) {
                int[] ref = ints(prompts.get(i).getAsJsonObject().get("hf_ids_padded"));
                int[] refMask = ints(prompts.get(i).getAsJsonObject().get("attention_mask"));
                for (int j = 0; j < 77; j++) {
                    assertEquals(ref[j], ids[i * 77 + j]);
                    assertEquals(refMask[j], mask[i * 77 + j]);
                }
            }
        }
    }

    @Test
    void cleaningAndDecoding() {
        assertEquals("multiple spaces and newlines", ClipTokenizer.cleanText("  Multiple   spaces\tand\nnewlines "));
        assertEquals("fish & chips", ClipTokenizer.cleanText("Fish &amp;amp; Chips"));
        assertEquals("a picture of a happy dog", tokenizer.decode(tokenizer.encode("A picture of a happy dog")));
        assertEquals("café crème brûlée", tokenizer.decode(tokenizer.encode("café crème brûlée", ClipTokenizer.Padding.ZEROS)));
    }

    @Test
    void tokenizerJsonGivesTheSameIds(@TempDir Path tmp) throws IOException {
        // build a tokenizer.json (as the fast tokenizer writes it) from vocab.json + merges.txt
        JsonObject model = new JsonObject();
        model.add("vocab", JsonParser.parseString(Files.readString(folder.resolve("vocab.json"))));
        JsonArray merges = new JsonArray();
        List<String> lines = Files.readAllLines(folder.resolve("merges.txt"));
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isEmpty()) {
                merges.add(l);
            }
        }
        model.add("merges", merges);
        JsonObject root = new JsonObject();
        root.add("model", model);
        Files.writeString(tmp.resolve("tokenizer.json"), root.toString());
        ClipTokenizer fast = ClipTokenizer.fromPretrained(tmp);
        for (JsonElement pe : prompts) {
            String text = pe.getAsJsonObject().get("text").getAsString();
            assertArrayEquals(tokenizer.encode(text), fast.encode(text), text);
        }
    }

    @Test
    void openAiBpeFileGivesTheSameVocabulary(@TempDir Path tmp) throws IOException {
        // OpenAI's bpe_simple_vocab_16e6.txt.gz holds the same merges after a header line; rebuild one from merges.txt
        List<String> lines = Files.readAllLines(folder.resolve("merges.txt"));
        Path gz = tmp.resolve("bpe_simple_vocab_16e6.txt.gz");
        try (java.io.Writer w = new java.io.OutputStreamWriter(
                new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz)), java.nio.charset.StandardCharsets.UTF_8)) {
            w.write("\"bpe_simple_vocab_16e6.txt#version: 0.2\n");
            for (String l : lines.subList(1, lines.size())) {
                w.write(l + "\n");
            }
            w.write("zz zz\n"); // beyond the 48894 merges CLIP uses: ignored
        }
        ClipTokenizer openAi = ClipTokenizer.fromPretrained(tmp);
        assertEquals(49408, openAi.vocabSize());
        assertEquals(tokenizer.tokenToId("rose</w>"), openAi.tokenToId("rose</w>"));
        for (JsonElement pe : prompts) {
            JsonObject p = pe.getAsJsonObject();
            String text = p.get("text").getAsString();
            assertArrayEquals(ints(p.get("openai_ids")), openAi.encode(text, ClipTokenizer.Padding.ZEROS), text);
        }
    }

    @Test
    void missingFilesAreNamed(@TempDir Path tmp) throws IOException {
        Files.copy(folder.resolve("vocab.json"), tmp.resolve("vocab.json"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(tmp));
        assertTrue(e.getMessage().contains("lacks merges.txt"), e.getMessage());
        assertTrue(e.getMessage().contains("openai/clip-vit-base-patch32"), e.getMessage());
        Files.delete(tmp.resolve("vocab.json"));
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(tmp));
        assertTrue(e.getMessage().contains("lacks vocab.json and merges.txt"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.toString()), e.getMessage());
    }
}
