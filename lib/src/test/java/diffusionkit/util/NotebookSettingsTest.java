package diffusionkit.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

class NotebookSettingsTest {

    @Test
    void theModeGivesTheValueAndAVariableOverridesIt() {
        NotebookSettings quick = NotebookSettings.of(Map.of("N_SAMPLES", " 3 "));
        assertEquals("quick", quick.mode());
        assertEquals(3, quick.get("N_SAMPLES", 4, 8, 8));
        assertEquals(100, quick.get("DDPM_STEPS", 20, 100, 1000));
        NotebookSettings full = NotebookSettings.of(Map.of("KIT_MODE", "full", "KIT_MODEL", "/tmp/m"));
        assertEquals(1000, full.get("DDPM_STEPS", 20, 100, 1000));
        assertEquals(20, NotebookSettings.of(Map.of("KIT_MODE", "ci")).get("DDPM_STEPS", 20, 100, 1000));
        assertEquals(Path.of("/tmp/m"), full.path("KIT_MODEL", Path.of("x")));
        assertEquals("a red apple", full.text("KIT_PROMPT", "a red apple"));
        assertTrue(quick.toString().startsWith("KIT_MODE=quick  N_SAMPLES=3  DDPM_STEPS=100\nMachine: "), quick.toString());
    }

    @Test
    void badValuesNameTheVariableAndTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NotebookSettings.of(Map.of("KIT_MODE", "fast")));
        assertTrue(e.getMessage().contains("KIT_MODE must be ci, quick or full"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NotebookSettings.of(Map.of("N_SAMPLES", "eight")).get("N_SAMPLES", 4, 8, 8));
        assertTrue(e.getMessage().contains("N_SAMPLES must be a whole number, got 'eight'"), e.getMessage());
    }
}
