package diffusionkit.demo;

import ai.djl.ndarray.NDManager;
import diffusionkit.pipelines.DiffusionPipeline;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The demo page in a real browser (Debian's headless Chromium): pick a colour, click Generate, and the image that
 * appears is measurably closer to the colour with guidance than without. The model is diffusers' random-weight
 * reference UNet (16x16 RGB), so the colour comes from the guidance alone.
 */
class DemoBrowserTest {

    static final String TARGET = "#44CCAA";

    @Test
    void aPickedColourPullsTheImageTowardsIt() throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(Path.of("src/test/resources/vectors/unet_a"), m);
                DemoServer server = new DemoServer(new ColorGuidedGenerator(pipe, 64), "unet_a", DemoServer.loopback(0), 2)
                        .start()) {
            ChromeDriver d = Browser.start();
            try {
                d.get(server.url());
                // pick the colour with the page's colour picker (a native dialog: set its value as the dialog would)
                d.executeScript("const c = document.getElementById('color'); c.value = arguments[0];"
                        + "c.dispatchEvent(new Event('input', {bubbles: true}));", TARGET.toLowerCase());
                assertEquals(TARGET, d.findElement(By.id("colorText")).getAttribute("value"));
                setField(d, "steps", "40");
                setField(d, "seed", "3");
                double[] unguided = generate(d, "0");
                double[] guided = generate(d, "30");
                double[] target = {0x44, 0xCC, 0xAA};
                double before = distance(unguided, target);
                double after = distance(guided, target);
                System.out.printf("demo in Chromium: mean colour %s at scale 0 (distance %.1f), %s at scale 30 (distance %.1f)%n",
                        fmt(unguided), before, fmt(guided), after);
                assertTrue(after < 0.75 * before, "mean colour " + fmt(guided) + " at scale 30 should be much closer to "
                        + TARGET + " than " + fmt(unguided) + " at scale 0 (" + after + " vs " + before + ")");
                assertTrue(d.findElement(By.id("status")).getText().startsWith("Done"));
                assertEquals("", d.findElement(By.id("error")).getText());
            } finally {
                d.quit();
            }
            assertEquals(2, server.served());
        }
    }

    @Test
    void aBadColourShowsTheServersMessage() throws Exception {
        try (DemoServer server = new DemoServer(DemoServerTest.painter(0), "test", DemoServer.loopback(0), 1).start()) {
            ChromeDriver d = Browser.start();
            try {
                d.get(server.url());
                d.findElement(By.id("colorText")).clear();
                d.findElement(By.id("colorText")).sendKeys("not-a-colour");
                d.findElement(By.id("generate")).click();
                new WebDriverWait(d, Duration.ofSeconds(30)).until(x -> !x.findElement(By.id("error")).getText().isEmpty());
                assertTrue(d.findElement(By.id("error")).getText().contains("is not a colour"));
            } finally {
                d.quit();
            }
        }
    }

    private static void setField(WebDriver d, String id, String value) {
        var e = d.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    /** Sets the scale slider, clicks Generate, waits for the new image and returns its mean RGB (0..255). */
    @SuppressWarnings("unchecked")
    private static double[] generate(ChromeDriver d, String scale) {
        JavascriptExecutor js = d;
        js.executeScript("const s = document.getElementById('scale'); s.value = arguments[0];"
                + "s.dispatchEvent(new Event('input', {bubbles: true}));", scale);
        String before = d.findElement(By.id("result")).getAttribute("data-done");
        d.findElement(By.id("generate")).click();
        new WebDriverWait(d, Duration.ofSeconds(120)).until(x -> {
            if (!x.findElement(By.id("error")).getText().isEmpty()) {
                return true;
            }
            String done = x.findElement(By.id("result")).getAttribute("data-done");
            return done != null && !done.equals(before) && (Boolean) js.executeScript(
                    "const i = document.getElementById('result'); return i.complete && i.naturalWidth > 0;");
        });
        assertEquals("", d.findElement(By.id("error")).getText(), "the page shows an error");
        List<Number> mean = (List<Number>) js.executeScript(
                "const i = document.getElementById('result'); const c = document.createElement('canvas');"
                        + "c.width = i.naturalWidth; c.height = i.naturalHeight; const g = c.getContext('2d');"
                        + "g.drawImage(i, 0, 0); const p = g.getImageData(0, 0, c.width, c.height).data;"
                        + "let r = 0, gr = 0, b = 0; for (let k = 0; k < p.length; k += 4) { r += p[k]; gr += p[k+1]; b += p[k+2]; }"
                        + "const n = p.length / 4; return [r / n, gr / n, b / n];");
        return new double[] {mean.get(0).doubleValue(), mean.get(1).doubleValue(), mean.get(2).doubleValue()};
    }

    private static double distance(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < 3; i++) {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return Math.sqrt(s);
    }

    private static String fmt(double[] c) {
        return String.format("(%.0f, %.0f, %.0f)", c[0], c[1], c[2]);
    }
}
