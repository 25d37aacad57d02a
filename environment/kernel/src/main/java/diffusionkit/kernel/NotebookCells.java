package diffusionkit.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** The code cells of a notebook file, for {@code %load notebook.ipynb}. */
final class NotebookCells {

    private NotebookCells() {
    }

    /** The sources of the notebook's code cells, in order (a source is a string or an array of lines). */
    static List<String> codeCells(Path notebook) throws IOException {
        JsonObject nb;
        try {
            nb = JsonParser.parseString(Files.readString(notebook, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException("%load: " + notebook + " is not a notebook (JSON with \"cells\"): " + e.getMessage(), e);
        }
        List<String> out = new ArrayList<>();
        JsonArray cells = nb.has("cells") ? nb.getAsJsonArray("cells") : new JsonArray();
        for (JsonElement c : cells) {
            JsonObject cell = c.getAsJsonObject();
            if (!"code".equals(cell.has("cell_type") ? cell.get("cell_type").getAsString() : "")) {
                continue;
            }
            JsonElement src = cell.get("source");
            StringBuilder text = new StringBuilder();
            if (src != null && src.isJsonArray()) {
                src.getAsJsonArray().forEach(line -> text.append(line.getAsString()));
            } else if (src != null) {
                text.append(src.getAsString());
            }
            if (!text.toString().isBlank()) {
                out.add(text.toString());
            }
        }
        return out;
    }
}
