package diffusionkit.kernel;

import java.awt.image.BufferedImage;
import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

import javax.imageio.ImageIO;

import io.github.spencerpark.jupyter.kernel.display.RenderContext;
import io.github.spencerpark.jupyter.kernel.display.Renderer;
import io.github.spencerpark.jupyter.kernel.display.mime.MIMEType;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.internal.chartpart.Chart;
import tech.tablesaw.api.Table;

/**
 * How the kernel shows values: images and XChart charts as PNG, Tablesaw tables as an HTML table (plus text), and
 * everything else as {@code String.valueOf} text (basekernel's default).
 */
final class Renderers {

    /** Rows of a table shown before the rest is elided. */
    static final int TABLE_HEAD_ROWS = 20;
    /** Rows shown at the end of an elided table. */
    static final int TABLE_TAIL_ROWS = 5;

    private Renderers() {
    }

    /** Registers the kit's renderers (after basekernel's defaults, so these win for their types). */
    static void registerAll(Renderer renderer) {
        renderer.createRegistration(BufferedImage.class)
                .preferring(MIMEType.IMAGE_PNG)
                .register(Renderers::renderImage);
        renderer.createRegistration(Chart.class)
                .preferring(MIMEType.IMAGE_PNG)
                .register((chart, context) -> renderImage(BitmapEncoder.getBufferedImage(chart), context));
        renderer.createRegistration(Table.class)
                .preferring(MIMEType.TEXT_HTML)
                .register(Renderers::renderTable);
    }

    static void renderImage(RenderedImage image, RenderContext context) {
        context.renderIfRequested(MIMEType.IMAGE_PNG, () -> pngBase64(image));
        context.renderIfRequested(MIMEType.TEXT_PLAIN,
                () -> "image " + image.getWidth() + "x" + image.getHeight());
    }

    /** The PNG encoding of an image, in base64 as Jupyter expects. */
    static String pngBase64(RenderedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", bytes)) {
                throw new IOException("no PNG writer for this image type");
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("could not encode the image as PNG: " + ex.getMessage(), ex);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    static void renderTable(Table table, RenderContext context) {
        context.renderIfRequested(MIMEType.TEXT_HTML, () -> tableHtml(table));
        context.renderIfRequested(MIMEType.TEXT_PLAIN, () -> table.print());
    }

    /** An HTML table with the column names, the first and last rows, and the shape below it. */
    static String tableHtml(Table table) {
        int rows = table.rowCount();
        StringBuilder html = new StringBuilder("<div><table class=\"dataframe\" border=\"1\">");
        if (table.name() != null && !table.name().isEmpty()) {
            html.append("<caption>").append(escape(table.name())).append("</caption>");
        }
        html.append("<thead><tr>");
        for (String name : table.columnNames()) {
            html.append("<th>").append(escape(name)).append("</th>");
        }
        html.append("</tr></thead><tbody>");
        boolean elide = rows > TABLE_HEAD_ROWS + TABLE_TAIL_ROWS;
        for (int r = 0; r < rows; r++) {
            if (elide && r == TABLE_HEAD_ROWS) {
                html.append("<tr>");
                for (int c = 0; c < table.columnCount(); c++) {
                    html.append("<td>&hellip;</td>");
                }
                html.append("</tr>");
                r = rows - TABLE_TAIL_ROWS;
            }
            html.append("<tr>");
            for (int c = 0; c < table.columnCount(); c++) {
                html.append("<td>").append(escape(table.getString(r, c))).append("</td>");
            }
            html.append("</tr>");
        }
        html.append("</tbody></table><p>").append(rows).append(" rows &times; ")
                .append(table.columnCount()).append(" columns</p></div>");
        return html.toString();
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '<': out.append("&lt;"); break;
                case '>': out.append("&gt;"); break;
                case '&': out.append("&amp;"); break;
                case '"': out.append("&quot;"); break;
                default: out.append(ch);
            }
        }
        return out.toString();
    }
}
