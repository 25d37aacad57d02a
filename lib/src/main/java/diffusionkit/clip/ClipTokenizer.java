package diffusionkit.clip;

import diffusionkit.hub.Pretrained;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import diffusionkit.io.CheckpointException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE tokenizer in pure Java, giving the ids of Hugging Face transformers'
 * {@code CLIPTokenizer} (its ftfy path) and of OpenAI's {@code clip/simple_tokenizer.py}.
 *
 * <p>Steps, as in OpenAI's {@code SimpleTokenizer.encode}:
 * <ol>
 *   <li>text cleaning ({@link #cleanText}): Unicode NFC (the last step of {@code ftfy.fix_text}, and the first of
 *       the fast tokenizer's normalizer), a simple HTML unescape (twice, as OpenAI), whitespace runs to one space,
 *       strip, lower-case. The rest of {@code ftfy.fix_text}, which both reference tokenizers call first, is
 *       <em>not</em> reproduced: it is the identity on ordinary NFC text (and on every reference prompt), and
 *       only repairs mojibake, curly quotes, ligatures, full-width forms and control characters;</li>
 *   <li>splitting with OpenAI's pattern
 *       {@code <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
 *       (case-insensitive);</li>
 *   <li>each piece's UTF-8 bytes mapped to printable characters ({@code bytes_to_unicode}), the last symbol
 *       marked with {@code </w>}, then merged by the BPE ranks of {@code merges.txt} (results cached);</li>
 *   <li>{@code <|startoftext|>} (49406) before and {@code <|endoftext|>} (49407) after; longer than the context
 *       length (77) is cut to 77 with the last id replaced by 49407; padding to 77 with 49407 and an attention
 *       mask ({@link Padding#EOS}, Hugging Face) or with 0 ({@link Padding#ZEROS}, OpenAI's {@code clip.tokenize}).</li>
 * </ol>
 *
 * <p>Load it with {@link #fromPretrained(Path)} from a Hugging Face CLIP folder ({@code vocab.json} +
 * {@code merges.txt}, or {@code tokenizer.json}, or OpenAI's {@code bpe_simple_vocab_16e6.txt.gz}).
 * Instances are immutable and thread-safe.
 */
public final class ClipTokenizer {

    /** The text of the start token. */
    public static final String START_OF_TEXT = "<|startoftext|>";
    /** Where the tokenizer files come from, for error messages. */
    static final String HUB_MODEL = "openai/clip-vit-base-patch32";
    /** The text of the end token (also HF's pad and unk token). */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** CLIP's context length. */
    public static final int DEFAULT_CONTEXT_LENGTH = 77;

    /** How {@link #encode(String, Padding)} fills the sequence up to the context length. */
    public enum Padding {
        /** Hugging Face {@code padding="max_length"}: pad with {@code <|endoftext|>} (49407), masked out. */
        EOS,
        /** OpenAI {@code clip.tokenize}: pad with 0. */
        ZEROS,
        /** No padding: BOS, tokens, EOS only (still truncated to the context length). */
        NONE
    }

    /** Ids and attention mask of one text (1 for real tokens up to and including the first EOS, 0 for padding). */
    public record Encoding(int[] inputIds, int[] attentionMask) {}

    /** A batch of encodings as int64 arrays of shape [batch, contextLength]. */
    public record Batch(NDArray inputIds, NDArray attentionMask) {}

    private static final Pattern SPLIT = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE = Pattern.compile("[\\s\\x1c-\\x1f]+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern ENTITY = Pattern.compile("&(#[0-9]+|#[xX][0-9a-fA-F]+|amp|lt|gt|quot|apos|nbsp);?");
    /** Number of merges CLIP uses: {@code merges[1 : 49152 - 256 - 2 + 1]} in the references. */
    private static final int CLIP_MERGES = 49152 - 256 - 2;

    private static final char[] BYTE_ENCODER = bytesToUnicode();

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    private final Map<String, Integer> bpeRanks;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();
    private final int bosId;
    private final int eosId;
    private final int contextLength;

    private ClipTokenizer(Map<String, Integer> encoder, List<String> merges, int contextLength, String source)
            throws CheckpointException {
        this.encoder = encoder;
        int max = encoder.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.decoder = new String[max + 1];
        encoder.forEach((k, v) -> decoder[v] = k);
        this.bpeRanks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            bpeRanks.putIfAbsent(merges.get(i), i);
        }
        Integer bos = encoder.get(START_OF_TEXT);
        Integer eos = encoder.get(END_OF_TEXT);
        if (bos == null || eos == null) {
            throw new CheckpointException(source + " has no id for " + (bos == null ? START_OF_TEXT : END_OF_TEXT)
                    + ": it is not a CLIP vocabulary. Download openai/clip-vit-base-patch32's vocab.json and merges.txt.");
        }
        this.bosId = bos;
        this.eosId = eos;
        this.contextLength = contextLength;
        cache.put(START_OF_TEXT, new String[] {START_OF_TEXT});
        cache.put(END_OF_TEXT, new String[] {END_OF_TEXT});
    }

    private ClipTokenizer(ClipTokenizer other, int contextLength) {
        this.encoder = other.encoder;
        this.decoder = other.decoder;
        this.bpeRanks = other.bpeRanks;
        this.bosId = other.bosId;
        this.eosId = other.eosId;
        this.contextLength = contextLength;
        cache.putAll(other.cache);
    }

    // ------------------------------------------------------------------------------------------ loading

    /**
     * Loads the tokenizer of a CLIP folder: {@code vocab.json} + {@code merges.txt} (as
     * {@code CLIPTokenizer.save_pretrained} writes them), else {@code tokenizer.json}, else OpenAI's
     * {@code bpe_simple_vocab_16e6.txt.gz}. The context length is {@code model_max_length} of
     * {@code tokenizer_config.json} when present, else 77.
     *
     * @throws CheckpointException naming the missing files and how to get them
     */
    public static ClipTokenizer fromPretrained(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new CheckpointException("CLIP folder " + folder + " does not exist: download openai/clip-vit-base-patch32"
                    + " (config.json, model.safetensors, vocab.json, merges.txt) into " + folder + ".");
        }
        int contextLength = readContextLength(folder.resolve("tokenizer_config.json"));
        Path vocab = folder.resolve("vocab.json");
        Path merges = folder.resolve("merges.txt");
        Path tokenizerJson = folder.resolve("tokenizer.json");
        Path openAi = folder.resolve("bpe_simple_vocab_16e6.txt.gz");
        ClipTokenizer t;
        if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) {
            t = fromVocabAndMerges(vocab, merges);
        } else if (Files.isRegularFile(tokenizerJson)) {
            t = fromTokenizerJson(tokenizerJson);
        } else if (Files.isRegularFile(openAi)) {
            t = fromOpenAiBpe(openAi);
        } else {
            String lacks = Files.isRegularFile(vocab) ? "merges.txt" : Files.isRegularFile(merges) ? "vocab.json" : "vocab.json and merges.txt";
            throw new CheckpointException("CLIP folder " + folder + " lacks " + lacks
                    + " (and has no tokenizer.json or bpe_simple_vocab_16e6.txt.gz): download openai/clip-vit-base-patch32"
                    + " into " + folder + " (vocab.json and merges.txt are enough for the tokenizer).");
        }
        return contextLength == t.contextLength ? t : t.withContextLength(contextLength);
    }

    /**
     * Loads the tokenizer of a hub id ({@code openai/clip-vit-base-patch32}: its tokenizer files are fetched into the
     * Hugging Face cache, or read from it offline), kit model name or folder path; see {@link Pretrained}.
     */
    public static ClipTokenizer fromPretrained(String idOrPath) throws IOException {
        return fromPretrained(Pretrained.folder(idOrPath, Pretrained.Kind.CLIP_TOKENIZER, null));
    }

    /** Loads Hugging Face's {@code vocab.json} (token to id) and {@code merges.txt} ({@code #version} line, then one merge per line). */
    public static ClipTokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) throws IOException {
        String download = "download vocab.json of " + HUB_MODEL + " again (with its merges.txt).";
        JsonElement root = parseJson(vocabJson, download);
        if (!root.isJsonObject()) {
            throw new CheckpointException(vocabJson + " is not a vocabulary: expected a JSON object of token to id, got "
                    + kind(root) + ". " + capitalise(download));
        }
        Map<String, Integer> vocab = readVocab(root.getAsJsonObject(), vocabJson.toString(), download);
        List<String> lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        List<String> merges = new ArrayList<>();
        int start = !lines.isEmpty() && lines.get(0).startsWith("#version") ? 1 : 0;
        for (int i = start; i < lines.size() && merges.size() < CLIP_MERGES; i++) {
            String line = lines.get(i);
            if (line.isEmpty()) {
                continue;
            }
            merges.add(checkMerge(line, mergesTxt, i + 1, "merges.txt"));
        }
        return new ClipTokenizer(vocab, merges, DEFAULT_CONTEXT_LENGTH, vocabJson.toString());
    }

    /** Token to id of a JSON object; an id that is not a non-negative integer is named with its token. */
    private static Map<String, Integer> readVocab(JsonObject obj, String where, String download) throws CheckpointException {
        Map<String, Integer> vocab = new HashMap<>(obj.size() * 2);
        for (Map.Entry<String, JsonElement> e : obj.entrySet()) {
            JsonElement v = e.getValue();
            int id = -1;
            if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
                double d = v.getAsDouble();
                id = d == Math.rint(d) && d >= 0 && d < Integer.MAX_VALUE ? (int) d : -1;
            }
            if (id < 0) {
                throw new CheckpointException(where + ": the id of token '" + e.getKey() + "' is " + v
                        + ", not a non-negative integer: the vocabulary is damaged. " + capitalise(download));
            }
            vocab.put(e.getKey(), id);
        }
        return vocab;
    }

    private static String kind(JsonElement e) {
        return e.isJsonArray() ? "an array" : e.isJsonNull() ? "null" : e.isJsonPrimitive() ? "the value " + e : "an object";
    }

    private static String capitalise(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * Loads a fast-tokenizer {@code tokenizer.json}: {@code model.vocab} and {@code model.merges} (each merge spelled
     * {@code "a b"}, or {@code ["a", "b"]} as newer versions of the tokenizers library write it), plus the
     * {@code added_tokens} (their ids join the vocabulary when it lacks them, as for {@code <|startoftext|>} and
     * {@code <|endoftext|>}). The {@code normalizer} (NFC, whitespace runs to one space, lower-case),
     * {@code pre_tokenizer} (CLIP's split pattern, byte-level), {@code post_processor} and {@code decoder} of CLIP's
     * file describe what this class does anyway ({@link #cleanText}, the split pattern, BOS/EOS), so they are not
     * interpreted.
     *
     * @throws CheckpointException when the file is not JSON, has no BPE {@code model}, or holds a damaged entry;
     *     the message names the file, the entry and what to download
     */
    public static ClipTokenizer fromTokenizerJson(Path tokenizerJson) throws IOException {
        String download = "download tokenizer.json of " + HUB_MODEL + " again, or use its vocab.json and merges.txt instead.";
        JsonElement root = parseJson(tokenizerJson, download);
        JsonElement m = root.isJsonObject() ? root.getAsJsonObject().get("model") : null;
        JsonObject model = m != null && m.isJsonObject() ? m.getAsJsonObject() : null;
        if (model == null || !model.has("vocab") || !model.has("merges")) {
            throw new CheckpointException(tokenizerJson + " has no model.vocab / model.merges: it is not a BPE tokenizer.json"
                    + (model == null ? " (no \"model\" section)" : "") + ". " + capitalise(download));
        }
        JsonElement type = model.get("type");
        if (type != null && type.isJsonPrimitive() && !type.getAsString().equals("BPE")) {
            throw new CheckpointException(tokenizerJson + " holds a " + type.getAsString() + " tokenizer, not CLIP's BPE. "
                    + capitalise(download));
        }
        if (!model.get("vocab").isJsonObject() || !model.get("merges").isJsonArray()) {
            throw new CheckpointException(tokenizerJson + ": model.vocab must be an object of token to id and model.merges a "
                    + "list, got " + kind(model.get("vocab")) + " and " + kind(model.get("merges")) + ". " + capitalise(download));
        }
        Map<String, Integer> vocab = readVocab(model.getAsJsonObject("vocab"), tokenizerJson + " (model.vocab)", download);
        JsonElement added = root.getAsJsonObject().get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement a : added.getAsJsonArray()) {
                JsonElement content = a.isJsonObject() ? a.getAsJsonObject().get("content") : null;
                JsonElement id = a.isJsonObject() ? a.getAsJsonObject().get("id") : null;
                if (content == null || id == null || !content.isJsonPrimitive() || !id.isJsonPrimitive()
                        || !id.getAsJsonPrimitive().isNumber()) {
                    throw new CheckpointException(tokenizerJson + ": added_tokens entry " + a + " lacks a \"content\" string "
                            + "and an integer \"id\". " + capitalise(download));
                }
                vocab.putIfAbsent(content.getAsString(), id.getAsInt());
            }
        }
        List<String> merges = new ArrayList<>();
        JsonArray arr = model.getAsJsonArray("merges");
        for (int i = 0; i < arr.size(); i++) {
            JsonElement e = arr.get(i);
            String line;
            if (e.isJsonArray() && e.getAsJsonArray().size() == 2 && e.getAsJsonArray().get(0).isJsonPrimitive()
                    && e.getAsJsonArray().get(1).isJsonPrimitive()) {
                line = e.getAsJsonArray().get(0).getAsString() + " " + e.getAsJsonArray().get(1).getAsString();
            } else if (e.isJsonPrimitive()) {
                line = e.getAsString();
            } else {
                line = e.toString();
            }
            merges.add(checkMerge(line, tokenizerJson, i + 1, "tokenizer.json"));
        }
        return new ClipTokenizer(vocab, merges, DEFAULT_CONTEXT_LENGTH, tokenizerJson.toString());
    }

    /** Loads OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} and builds the vocabulary exactly as {@code SimpleTokenizer} does. */
    public static ClipTokenizer fromOpenAiBpe(Path bpeGz) throws IOException {
        List<String> merges = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(bpeGz));
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line = r.readLine(); // the version line
            int n = 1;
            while ((line = r.readLine()) != null && merges.size() < CLIP_MERGES) {
                n++;
                merges.add(checkMerge(line, bpeGz, n, "bpe_simple_vocab_16e6.txt.gz"));
            }
        }
        // vocab = bytes_to_unicode values, the same with '</w>', the merges joined, then the two specials
        Map<String, Integer> vocab = new HashMap<>();
        List<String> order = new ArrayList<>();
        for (char c : orderedByteUnicode()) {
            order.add(String.valueOf(c));
        }
        for (char c : orderedByteUnicode()) {
            order.add(c + "</w>");
        }
        for (String m : merges) {
            order.add(m.replace(" ", ""));
        }
        order.add(START_OF_TEXT);
        order.add(END_OF_TEXT);
        for (int i = 0; i < order.size(); i++) {
            vocab.put(order.get(i), i);
        }
        return new ClipTokenizer(vocab, merges, DEFAULT_CONTEXT_LENGTH, bpeGz.toString());
    }

    /** This tokenizer with another context length (77 for every released CLIP). */
    public ClipTokenizer withContextLength(int contextLength) {
        if (contextLength < 2) {
            throw new IllegalArgumentException("contextLength must be at least 2 (BOS and EOS), got " + contextLength);
        }
        return new ClipTokenizer(this, contextLength);
    }

    // ------------------------------------------------------------------------------------------ encoding

    /** Ids padded to the context length with {@code <|endoftext|>}, as transformers' {@code padding="max_length", truncation=True}. */
    public int[] encode(String text) {
        return encode(text, Padding.EOS);
    }

    /** Ids with BOS/EOS, truncated to the context length (last id then EOS), padded as {@code padding} says. */
    public int[] encode(String text, Padding padding) {
        return encodePlus(text, padding).inputIds();
    }

    /** Ids and attention mask, padded with {@code <|endoftext|>} (Hugging Face). */
    public Encoding encodePlus(String text) {
        return encodePlus(text, Padding.EOS);
    }

    /** Ids and attention mask (1 for BOS, tokens and EOS, 0 for padding). */
    public Encoding encodePlus(String text, Padding padding) {
        List<Integer> tokens = tokenIds(text);
        int n = Math.min(tokens.size() + 2, contextLength);
        int length = padding == Padding.NONE ? n : contextLength;
        int[] ids = new int[length];
        int[] mask = new int[length];
        ids[0] = bosId;
        for (int i = 1; i < n - 1; i++) {
            ids[i] = tokens.get(i - 1);
        }
        ids[n - 1] = eosId;
        Arrays.fill(mask, 0, n, 1);
        if (padding == Padding.EOS) {
            Arrays.fill(ids, n, length, eosId);
        }
        return new Encoding(ids, mask);
    }

    /** Encodes a batch, padded as {@code padding} says ({@link Padding#NONE} is not allowed), as int64 arrays [batch, contextLength]. */
    public Batch encodeBatch(List<String> texts, Padding padding, NDManager manager) {
        if (padding == Padding.NONE) {
            throw new IllegalArgumentException("a batch needs padding: use Padding.EOS (Hugging Face) or Padding.ZEROS (OpenAI)");
        }
        long[] ids = new long[texts.size() * contextLength];
        long[] mask = new long[ids.length];
        for (int b = 0; b < texts.size(); b++) {
            Encoding e = encodePlus(texts.get(b), padding);
            for (int i = 0; i < contextLength; i++) {
                ids[b * contextLength + i] = e.inputIds()[i];
                mask[b * contextLength + i] = e.attentionMask()[i];
            }
        }
        Shape shape = new Shape(texts.size(), contextLength);
        return new Batch(manager.create(ids, shape), manager.create(mask, shape));
    }

    /** The BPE token strings of {@code text} (no BOS/EOS, no truncation), e.g. {@code ["red</w>", "rose</w>"]}. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = SPLIT.matcher(cleanText(text));
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            sb.setLength(0);
            for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                sb.append(BYTE_ENCODER[b & 0xff]);
            }
            out.addAll(Arrays.asList(bpe(sb.toString())));
        }
        return out;
    }

    /** The ids of {@link #tokenize}: no BOS/EOS, no truncation. */
    public List<Integer> tokenIds(String text) {
        List<String> tokens = tokenize(text);
        List<Integer> ids = new ArrayList<>(tokens.size());
        for (String t : tokens) {
            Integer id = encoder.get(t);
            if (id == null) {
                throw new IllegalStateException("BPE token '" + t + "' of \"" + text + "\" is not in the vocabulary:"
                        + " vocab.json and merges.txt do not belong together. Download both from openai/clip-vit-base-patch32.");
            }
            ids.add(id);
        }
        return ids;
    }

    /** Text of ids up to the first {@code <|endoftext|>} (BOS dropped, {@code </w>} read as a space), as OpenAI's {@code decode}. */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (id == eosId) {
                break;
            }
            if (id == bosId || id < 0 || id >= decoder.length || decoder[id] == null) {
                continue;
            }
            sb.append(decoder[id]);
        }
        String s = sb.toString();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        int[] byteDecoder = new int[512];
        Arrays.fill(byteDecoder, -1);
        for (int b = 0; b < 256; b++) {
            byteDecoder[BYTE_ENCODER[b]] = b;
        }
        for (String part : s.split("</w>", -1)) {
            for (char c : part.toCharArray()) {
                if (c < byteDecoder.length && byteDecoder[c] >= 0) {
                    bytes.write(byteDecoder[c]);
                }
            }
            bytes.write(' ');
        }
        return new String(bytes.toByteArray(), StandardCharsets.UTF_8).trim();
    }

    /** Id of {@code <|startoftext|>} (49406). */
    public int bosTokenId() {
        return bosId;
    }

    /** Id of {@code <|endoftext|>} (49407), also the HF pad id. */
    public int eosTokenId() {
        return eosId;
    }

    /** The context length (77). */
    public int contextLength() {
        return contextLength;
    }

    /** Number of vocabulary entries (49408). */
    public int vocabSize() {
        return encoder.size();
    }

    /** Id of a vocabulary token, or -1. */
    public int tokenToId(String token) {
        return encoder.getOrDefault(token, -1);
    }

    /**
     * OpenAI's text cleaning with ftfy reduced to its NFC normalisation: NFC, {@code html.unescape} twice (common
     * named and numeric entities only), whitespace runs to one space, strip, lower-case. (The rest of
     * {@code ftfy.fix_text} is the identity on clean NFC text, which is what both reference tokenizers saw for every
     * reference prompt.)
     */
    public static String cleanText(String text) {
        String t = htmlUnescape(htmlUnescape(Normalizer.normalize(text, Normalizer.Form.NFC))).strip();
        t = WHITESPACE.matcher(t).replaceAll(" ").strip();
        return t.toLowerCase(Locale.ROOT);
    }

    // ------------------------------------------------------------------------------------------ BPE

    private String[] bpe(String token) {
        String[] cached = cache.get(token);
        if (cached != null) {
            return cached;
        }
        // word = tuple(token[:-1]) + (token[-1] + '</w>',)
        List<String> word = new ArrayList<>(token.length());
        for (int i = 0; i < token.length() - 1; i++) {
            word.add(String.valueOf(token.charAt(i)));
        }
        word.add(token.charAt(token.length() - 1) + "</w>");
        while (word.size() > 1) {
            // the pair with the lowest merge rank
            int best = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i < word.size() - 1; i++) {
                Integer r = bpeRanks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(word.size());
            int i = 0;
            while (i < word.size()) {
                if (i < word.size() - 1 && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i++;
                }
            }
            word = merged;
        }
        String[] out = word.toArray(new String[0]);
        cache.put(token, out);
        return out;
    }

    /** GPT-2/CLIP {@code bytes_to_unicode}: byte b to a printable character (printable Latin-1 bytes map to themselves). */
    private static char[] bytesToUnicode() {
        char[] map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (isPrintableByte(b)) {
                map[b] = (char) b;
            } else {
                map[b] = (char) (256 + n++);
            }
        }
        return map;
    }

    private static boolean isPrintableByte(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The characters of bytes_to_unicode in its list order: the printable bytes first, then the others. */
    private static char[] orderedByteUnicode() {
        char[] out = new char[256];
        int k = 0;
        for (int b = 0; b < 256; b++) {
            if (isPrintableByte(b)) {
                out[k++] = BYTE_ENCODER[b];
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!isPrintableByte(b)) {
                out[k++] = BYTE_ENCODER[b];
            }
        }
        return out;
    }

    private static String htmlUnescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = ENTITY.matcher(s);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String e = m.group(1);
            String rep;
            switch (e) {
                case "amp" -> rep = "&";
                case "lt" -> rep = "<";
                case "gt" -> rep = ">";
                case "quot" -> rep = "\"";
                case "apos" -> rep = "'";
                case "nbsp" -> rep = "\u00a0";
                default -> {
                    int cp;
                    try {
                        cp = e.charAt(1) == 'x' || e.charAt(1) == 'X'
                                ? Integer.parseInt(e.substring(2), 16) : Integer.parseInt(e.substring(1));
                    } catch (NumberFormatException ex) {
                        cp = -1;
                    }
                    rep = Character.isValidCodePoint(cp) && cp != 0 ? new String(Character.toChars(cp)) : m.group();
                }
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(rep));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static String checkMerge(String line, Path file, int lineNo, String fileName) throws CheckpointException {
        int sp = line.indexOf(' ');
        if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
            String where = fileName.equals("tokenizer.json") ? " merge " + lineNo + " (model.merges)" : " line " + lineNo;
            throw new CheckpointException(file + where + ": '" + line + "' is not a merge of two symbols, 'a b'"
                    + (fileName.equals("tokenizer.json") ? " or [\"a\", \"b\"]" : "") + ". The file is damaged: download "
                    + fileName + " of " + HUB_MODEL + " again.");
        }
        return line;
    }

    private static int readContextLength(Path tokenizerConfig) throws IOException {
        if (!Files.isRegularFile(tokenizerConfig)) {
            return DEFAULT_CONTEXT_LENGTH;
        }
        JsonElement e = parseJson(tokenizerConfig);
        if (e.isJsonObject() && e.getAsJsonObject().has("model_max_length")) {
            double v = e.getAsJsonObject().get("model_max_length").getAsDouble();
            if (v >= 2 && v <= 100_000) {
                return (int) v;
            }
        }
        return DEFAULT_CONTEXT_LENGTH;
    }

    static JsonElement parseJson(Path file) throws IOException {
        return parseJson(file, "download it again.");
    }

    /** Parses a JSON file; when it is not JSON (or not UTF-8) the error names the file and ends with {@code fix}. */
    static JsonElement parseJson(Path file, String fix) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return JsonParser.parseReader(r);
        } catch (JsonParseException | java.nio.charset.CharacterCodingException e) {
            throw new CheckpointException(file + " is not valid JSON (" + e.getMessage() + "): " + fix, e);
        }
    }
}
