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

    /**
     * A tokenizer.json shaped like the real fast-tokenizer file of openai/clip-vit-base-patch32 (what transformers'
     * CLIPConverter writes): version, added_tokens, normalizer (NFC, Replace \s+, Lowercase), pre_tokenizer (Split +
     * ByteLevel), post_processor (RobertaProcessing), decoder, and a BPE model with end_of_word_suffix "</w>".
     */
    static JsonObject realTokenizerJson(boolean pairMerges, boolean specialsOnlyInAddedTokens) throws IOException {
        JsonObject root = JsonParser.parseString("""
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [
                   {"id": 49406, "content": "<|startoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": true, "special": true},
                   {"id": 49407, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": true, "special": true}],
                 "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"},
                   {"type": "Replace", "pattern": {"Regex": "\\\\s+"}, "content": " "}, {"type": "Lowercase"}]},
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                   {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d|[\\\\p{L}]+|[\\\\p{N}]|[^\\\\s\\\\p{L}\\\\p{N}]+"},
                    "behavior": "Removed", "invert": true},
                   {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
                 "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 49407],
                   "cls": ["<|startoftext|>", 49406], "trim_offsets": false, "add_prefix_space": false},
                 "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}}
                """).getAsJsonObject();
        JsonObject model = JsonParser.parseString("""
                {"type": "BPE", "dropout": null, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                 "end_of_word_suffix": "</w>", "fuse_unk": false, "byte_fallback": false}
                """).getAsJsonObject();
        JsonObject vocab = JsonParser.parseString(Files.readString(folder.resolve("vocab.json"))).getAsJsonObject();
        if (specialsOnlyInAddedTokens) {
            vocab.remove(ClipTokenizer.START_OF_TEXT);
            vocab.remove(ClipTokenizer.END_OF_TEXT);
        }
        model.add("vocab", vocab);
        JsonArray merges = new JsonArray();
        List<String> lines = Files.readAllLines(folder.resolve("merges.txt"));
        for (String l : lines.subList(1, lines.size())) {
            if (l.isEmpty()) {
                continue;
            }
            if (pairMerges) {                                  // tokenizers >= 0.20: ["a", "b"]
                JsonArray pair = new JsonArray();
                pair.add(l.substring(0, l.indexOf(' ')));
                pair.add(l.substring(l.indexOf(' ') + 1));
                merges.add(pair);
            } else {
                merges.add(l);                                 // older: "a b"
            }
        }
        model.add("merges", merges);
        root.add("model", model);
        return root;
    }

    /** Both merge spellings, with the specials in model.vocab or only in added_tokens: the reference ids. */
    @Test
    void aRealTokenizerJsonGivesTheReferenceIds(@TempDir Path tmp) throws IOException {
        boolean[][] cases = {{false, false}, {true, false}, {true, true}};
        for (boolean[] c : cases) {
            Path f = tmp.resolve("case" + c[0] + c[1]);
            Files.createDirectories(f);
            Files.writeString(f.resolve("tokenizer.json"), realTokenizerJson(c[0], c[1]).toString());
            Files.copy(folder.resolve("tokenizer_config.json"), f.resolve("tokenizer_config.json"));
            ClipTokenizer fast = ClipTokenizer.fromPretrained(f);
            String what = (c[0] ? "pair merges" : "string merges") + (c[1] ? ", specials only in added_tokens" : "");
            assertEquals(49406, fast.bosTokenId(), what);
            assertEquals(49407, fast.eosTokenId(), what);
            assertEquals(49408, fast.vocabSize(), what);
            for (JsonElement pe : prompts) {
                JsonObject p = pe.getAsJsonObject();
                String text = p.get("text").getAsString();
                assertArrayEquals(ints(p.get("hf_ids_padded")), fast.encode(text), what + ": " + text);
            }
        }
    }

    /** NFC first (ftfy's last step, the fast tokenizer's first): a decomposed "café crème" gives the composed ids. */
    @Test
    void decomposedTextIsNormalisedToNfc() {
        String composed = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e";
        String decomposed = "cafe\u0301 cre\u0300me bru\u0302le\u0301e";
        assertEquals(composed, ClipTokenizer.cleanText(decomposed));
        int[] expected = null;
        for (JsonElement pe : prompts) {
            if (pe.getAsJsonObject().get("text").getAsString().equals(composed)) {
                expected = ints(pe.getAsJsonObject().get("hf_ids_padded"));
            }
        }
        assertArrayEquals(expected, tokenizer.encode(decomposed));
    }

    /** Damaged tokenizer files: each error names the file, the entry and what to download. */
    @Test
    void damagedTokenizerFilesAreNamedWithTheFix(@TempDir Path tmp) throws IOException {
        // merges.txt with a line that is not "a b"
        Path bad = tmp.resolve("badmerges");
        Files.createDirectories(bad);
        Files.copy(folder.resolve("vocab.json"), bad.resolve("vocab.json"));
        List<String> lines = new ArrayList<>(Files.readAllLines(folder.resolve("merges.txt")));
        lines.set(3, "a n d");
        Files.write(bad.resolve("merges.txt"), lines);
        CheckpointException e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(bad));
        assertContains(e, bad.resolve("merges.txt") + " line 4: 'a n d' is not a merge of two symbols",
                "download merges.txt of openai/clip-vit-base-patch32 again");

        // vocab.json: not JSON, not an object, an id that is not an integer
        Path vocab = tmp.resolve("badvocab");
        Files.createDirectories(vocab);
        Files.copy(folder.resolve("merges.txt"), vocab.resolve("merges.txt"));
        Files.writeString(vocab.resolve("vocab.json"), "{\"!\": 0, \"\"");
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(vocab));
        assertContains(e, vocab.resolve("vocab.json") + " is not valid JSON", "download vocab.json of openai/clip-vit-base-patch32 again");
        Files.writeString(vocab.resolve("vocab.json"), "[\"!\", \"\\\"\"]");
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(vocab));
        assertContains(e, vocab.resolve("vocab.json") + " is not a vocabulary: expected a JSON object of token to id, got an array",
                "Download vocab.json of openai/clip-vit-base-patch32 again");
        Files.writeString(vocab.resolve("vocab.json"), "{\"!\": 0, \"a\": \"one\"}");
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(vocab));
        assertContains(e, vocab.resolve("vocab.json") + ": the id of token 'a' is \"one\", not a non-negative integer",
                "Download vocab.json");

        // tokenizer.json without a model section, with a WordPiece model, with a damaged merge
        Path fast = tmp.resolve("badfast");
        Files.createDirectories(fast);
        JsonObject real = realTokenizerJson(true, false);
        JsonObject noModel = real.deepCopy();
        noModel.remove("model");
        Files.writeString(fast.resolve("tokenizer.json"), noModel.toString());
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(fast));
        assertContains(e, fast.resolve("tokenizer.json") + " has no model.vocab / model.merges: it is not a BPE tokenizer.json "
                + "(no \"model\" section)", "Download tokenizer.json of openai/clip-vit-base-patch32 again, or use its vocab.json and merges.txt");
        JsonObject wordPiece = real.deepCopy();
        wordPiece.getAsJsonObject("model").addProperty("type", "WordPiece");
        Files.writeString(fast.resolve("tokenizer.json"), wordPiece.toString());
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(fast));
        assertContains(e, "holds a WordPiece tokenizer, not CLIP's BPE");
        JsonObject badMerge = real.deepCopy();
        JsonArray three = new JsonArray();
        three.add("a");
        three.add("n");
        three.add("d");
        badMerge.getAsJsonObject("model").getAsJsonArray("merges").set(2, three);
        Files.writeString(fast.resolve("tokenizer.json"), badMerge.toString());
        e = assertThrows(CheckpointException.class, () -> ClipTokenizer.fromPretrained(fast));
        assertContains(e, fast.resolve("tokenizer.json") + " merge 3 (model.merges): '[\"a\",\"n\",\"d\"]' is not a merge",
                "download tokenizer.json of openai/clip-vit-base-patch32 again");
    }

    static void assertContains(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
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
