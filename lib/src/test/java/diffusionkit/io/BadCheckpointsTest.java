package diffusionkit.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import net.razorvine.pickle.Unpickler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every case of bad_checkpoints/cases.json gives the outcome it expects, with a message that says what it asks. */
class BadCheckpointsTest {

    /**
     * What each message must contain, taken from the case's {@code error_should_say} (and, for the safetensors
     * cases, the numbers of its {@code reference_validator_error}). Every message must also name the file.
     */
    private static final Map<String, List<String>> MUST_SAY = new LinkedHashMap<>();

    static {
        MUST_SAY.put("truncated.bin", List.of("truncated", "not a valid zip", "no end-of-central-directory record"));
        MUST_SAY.put("pickle_os_system.bin", List.of("disallowed global os.system", "only tensor-rebuild globals are allowed"));
        MUST_SAY.put("pickle_builtins_eval.bin", List.of("disallowed global builtins.eval", "only tensor-rebuild globals are allowed"));
        MUST_SAY.put("pickle_counter.bin", List.of("unsupported class collections.Counter"));
        MUST_SAY.put("pickle_custom_class.bin", List.of("unsupported class trainer_state.TrainState"));
        MUST_SAY.put("pickle_whole_module.bin", List.of("unsupported class torch.nn.modules.conv.Conv2d", "save model.state_dict() instead"));
        MUST_SAY.put("missing_storage.bin", List.of("storage record data/1 not found"));
        MUST_SAY.put("header_len_exceeds_file.safetensors", List.of("header length 4728 exceeds the file size 632"));
        MUST_SAY.put("header_len_huge.safetensors", List.of("header length 18446744073709551600 exceeds the file size 632"));
        MUST_SAY.put("unknown_dtype.safetensors", List.of("'conv_in.weight'", "unknown dtype 'F24'"));
        MUST_SAY.put("offsets_overlap.safetensors", List.of("'conv_in.weight'", "overlapping data_offsets", "expected start 16"));
        MUST_SAY.put("offsets_past_end.safetensors", List.of("'conv_in.weight'", "data_offsets [16, 4336] run past the end", "448 bytes"));
        MUST_SAY.put("offsets_shape_mismatch.safetensors", List.of("'conv_in.weight'", "span 432 bytes", "needs 576",
                "byte size does not match shape x dtype"));
    }

    /** Python globals the malicious pickles reference; registered with razorvine to prove none is ever constructed. */
    private static final List<String> HOSTILE = List.of("os.system", "builtins.eval", "collections.Counter",
            "trainer_state.TrainState", "torch.nn.modules.conv.Conv2d", "__builtin__.set", "posix.system");

    private static final AtomicInteger CONSTRUCTED = new AtomicInteger();
    private static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager();
        for (String g : HOSTILE) {
            int dot = g.lastIndexOf('.');
            Unpickler.registerConstructor(g.substring(0, dot), g.substring(dot + 1), args -> {
                CONSTRUCTED.incrementAndGet();
                return new Object();
            });
        }
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static Stream<String> rejectedCases() throws IOException {
        List<String> files = new ArrayList<>();
        for (JsonElement c : TestVectors.json("bad_checkpoints/cases.json").getAsJsonArray("cases")) {
            if (c.getAsJsonObject().get("expect").getAsString().startsWith("reject")) {
                files.add(c.getAsJsonObject().get("file").getAsString());
            }
        }
        return files.stream();
    }

    /** Each rejected case throws a CheckpointException naming the file and saying what cases.json asks. */
    @ParameterizedTest
    @MethodSource("rejectedCases")
    void rejectsWithAClearMessage(String name) {
        List<String> mustSay = MUST_SAY.get(name);
        assertTrue(mustSay != null, "cases.json has a case this test does not know: " + name);
        Path file = TestVectors.path("bad_checkpoints/" + name);
        int before = CONSTRUCTED.get();
        CheckpointException e = assertThrows(CheckpointException.class, () -> StateDicts.load(file, manager));
        PytorchBinTest.assertContains(e, file.toString());
        PytorchBinTest.assertContains(e, mustSay.toArray(new String[0]));
        assertEquals(before, CONSTRUCTED.get(), "a registered razorvine constructor was called");
    }

    /** Every case of cases.json is covered here (a new case must get its expectation). */
    @Test
    void everyCaseIsCovered() throws IOException {
        List<String> all = new ArrayList<>();
        for (JsonElement c : TestVectors.json("bad_checkpoints/cases.json").getAsJsonArray("cases")) {
            JsonObject o = c.getAsJsonObject();
            all.add(o.get("file").getAsString());
            assertEquals(o.get("size").getAsLong(), Files.size(TestVectors.path("bad_checkpoints/" + o.get("file").getAsString())));
        }
        List<String> known = new ArrayList<>(MUST_SAY.keySet());
        known.add("legacy_format.bin"); // supported: see PytorchBinTest.legacyFormatIsSupported and below
        assertEquals(known.stream().sorted().toList(), all.stream().sorted().toList());
    }

    /** legacy_format.bin is "support or clear error": supported, through StateDicts too. */
    @Test
    void legacyFormatLoadsToTheExpectedTensors() throws IOException {
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> got = StateDicts.load(TestVectors.path("bad_checkpoints/legacy_format.bin"), m);
            TestVectors.assertSameTensors(
                    Safetensors.read(TestVectors.path("bad_checkpoints/legacy_format.expected.safetensors"), m), got);
        }
    }

    /**
     * The refusal happens at the disallowed GLOBAL itself: the error names the byte offset of the first
     * disallowed GLOBAL in pickletools' disassembly (pickle_disassembly.txt), before any REDUCE that follows it.
     */
    @Test
    void refusesAtTheGlobalBeforeAnyReduce() throws IOException {
        Map<String, Integer> firstBadGlobal = new HashMap<>();
        Pattern section = Pattern.compile("==== (\\S+): data\\.pkl.*");
        Pattern global = Pattern.compile("\\s*(\\d+): c\\s+GLOBAL\\s+'(\\S+) (\\S+)'");
        List<String> allowed = Arrays.asList("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_parameter", "torch.FloatStorage");
        String current = null;
        for (String line : Files.readAllLines(TestVectors.path("bad_checkpoints/pickle_disassembly.txt"))) {
            Matcher s = section.matcher(line);
            if (s.matches()) {
                current = s.group(1);
                continue;
            }
            Matcher g = global.matcher(line);
            if (current != null && g.matches() && !allowed.contains(g.group(2) + "." + g.group(3))) {
                firstBadGlobal.putIfAbsent(current, Integer.parseInt(g.group(1)));
            }
        }
        assertEquals(5, firstBadGlobal.size(), "pickle cases in the disassembly: " + firstBadGlobal);
        assertEquals(24, firstBadGlobal.get("pickle_os_system.bin"));
        for (Map.Entry<String, Integer> c : firstBadGlobal.entrySet()) {
            Path file = TestVectors.path("bad_checkpoints/" + c.getKey());
            CheckpointException e = assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager));
            PytorchBinTest.assertContains(e, "at byte " + c.getValue() + ")", "refused before anything was called");
        }
    }

    /** A valid safetensors file cut short, in its data or in its header, is refused and named. */
    @Test
    void rejectsTruncatedSafetensors(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(TestVectors.path("unet_a/diffusion_pytorch_model.safetensors"));
        Path half = Files.write(dir.resolve("half.safetensors"), Arrays.copyOf(full, full.length / 2));
        PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> Safetensors.read(half, manager)),
                half.toString(), "run past the end of the data section");
        Path header = Files.write(dir.resolve("header.safetensors"), Arrays.copyOf(full, 100));
        PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> Safetensors.read(header, manager)),
                header.toString(), "exceeds the file size 100");
        Path tiny = Files.write(dir.resolve("tiny.safetensors"), Arrays.copyOf(full, 5));
        PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> Safetensors.read(tiny, manager)),
                tiny.toString(), "fewer than the 8-byte header length");
    }

    /** A valid .bin cut anywhere is refused, never half-loaded. */
    @Test
    void rejectsTruncatedBin(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(TestVectors.path("bin_twins/unet_a/diffusion_pytorch_model.bin"));
        for (int cut : new int[] {10, full.length / 2, full.length - 10}) {
            Path file = Files.write(dir.resolve("cut" + cut + ".bin"), Arrays.copyOf(full, cut));
            PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager)),
                    file.toString(), "truncated");
        }
        byte[] legacy = Files.readAllBytes(TestVectors.path("bad_checkpoints/legacy_format.bin"));
        for (int cut : new int[] {30, 400, legacy.length - 10}) {
            Path file = Files.write(dir.resolve("legacy" + cut + ".bin"), Arrays.copyOf(legacy, cut));
            PytorchBinTest.assertContains(assertThrows(CheckpointException.class, () -> PytorchBin.read(file, manager)),
                    file.toString());
        }
    }
}
