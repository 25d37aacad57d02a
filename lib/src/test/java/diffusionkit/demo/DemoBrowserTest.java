package diffusionkit.demo;

import ai.djl.ndarray.NDManager;
import diffusionkit.TestTags;
import diffusionkit.pipelines.DiffusionPipeline;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
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
@TestTags.Browser
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
                assertEquals(TARGET, d.findElement(By.id("colorText")).getDomProperty("value"));
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

    /**
     * A prompt end to end, with the kit's base model and emoji CLIP: before the first image the page shows a
     * placeholder (no broken-image icon); "a red heart" typed into the page with the colour's scale at 0 gives an image
     * with more red pixels than the same seed without the prompt; an unusable prompt shows the server's message.
     */
    @Test
    void aTypedPromptPullsTheImageTowardsIt() throws Exception {
        Path models = Path.of("../datasets/models");
        try (NDManager m = NDManager.newBaseManager();
                DiffusionPipeline pipe = DiffusionPipeline.fromPretrained(models.resolve("emoji-base"), m);
                diffusionkit.clip.ClipModel clip = diffusionkit.clip.ClipModel.fromPretrained(models.resolve("emoji-clip"), m);
                DemoServer server = new DemoServer(new ColorGuidedGenerator(pipe, 64).withClip(clip,
                        diffusionkit.clip.ClipTokenizer.fromPretrained(models.resolve("emoji-clip"))), "emoji-base",
                        DemoServer.loopback(0), 2).start()) {
            ChromeDriver d = Browser.start();
            try {
                d.get(server.url());
                assertTrue(d.findElement(By.id("placeholder")).isDisplayed(), "a placeholder before the first image");
                assertFalse(d.findElement(By.id("result")).isDisplayed(), "no empty image (a broken-image icon)");
                new WebDriverWait(d, Duration.ofSeconds(30)).until(x -> x.findElement(By.id("model")).getText()
                        .equals("emoji-base, prompts through CLIP"));
                assertTrue(d.findElement(By.id("prompt")).isEnabled());
                setField(d, "seed", "2");
                generate(d, "0");
                assertFalse(d.findElement(By.id("placeholder")).isDisplayed(), "the placeholder gives way to the image");
                assertTrue(d.findElement(By.id("result")).isDisplayed());
                double before = redShare(d);
                setField(d, "prompt", "a red heart");
                generate(d, "0");
                double after = redShare(d);
                System.out.printf("demo in Chromium, seed 2: red pixels %.3f without a prompt, %.3f with 'a red heart'%n",
                        before, after);
                assertTrue(after > before + 0.1, "'a red heart' should add red: " + before + " -> " + after);
                setField(d, "prompt", "a red <heart>");
                d.findElement(By.id("generate")).click();
                new WebDriverWait(d, Duration.ofSeconds(30)).until(x -> !x.findElement(By.id("error")).getText().isEmpty());
                assertTrue(d.findElement(By.id("error")).getText().contains("the prompt contains '<'"),
                        d.findElement(By.id("error")).getText());
            } finally {
                d.quit();
            }
            assertEquals(2, server.served());
        }
    }

    /** The share of the page image's drawn pixels that are red ({@link diffusionkit.data.EmojiCaptions#colourShare}). */
    private static double redShare(ChromeDriver d) throws Exception {
        String url = (String) d.executeScript("const i = document.getElementById('result');"
                + "const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;"
                + "c.getContext('2d').drawImage(i, 0, 0); return c.toDataURL('image/png');");
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(
                java.util.Base64.getDecoder().decode(url.substring(url.indexOf(',') + 1))));
        int w = img.getWidth();
        int h = img.getHeight();
        float[] chw = new float[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                chw[y * w + x] = (rgb >> 16 & 0xFF) / 255f;
                chw[w * h + y * w + x] = (rgb >> 8 & 0xFF) / 255f;
                chw[2 * w * h + y * w + x] = (rgb & 0xFF) / 255f;
            }
        }
        return diffusionkit.data.EmojiCaptions.colourShare(chw, 3, "red");
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

    /** The page opens with the course's defaults: #55FFAA, scale 3 on a 0-30 slider, 40 steps, seed 0. */
    @Test
    void thePageOpensWithTheCoursesDefaults() throws Exception {
        try (DemoServer server = new DemoServer(DemoServerTest.painter(0), "emoji-base", DemoServer.loopback(0), 1).start()) {
            ChromeDriver d = Browser.start();
            try {
                d.get(server.url());
                assertEquals(DemoRequest.DEFAULT_COLOR.toLowerCase(), value(d, "color"));
                assertEquals("#55FFAA", value(d, "colorText"));
                assertEquals(DemoRequest.DEFAULT_COLOR, value(d, "colorText"));
                WebElement scale = d.findElement(By.id("scale"));
                assertEquals("range", scale.getDomProperty("type"));
                assertEquals("0", scale.getDomProperty("min"));
                assertEquals("30", scale.getDomProperty("max"));
                assertEquals("3", scale.getDomProperty("value"));
                assertEquals((int) DemoRequest.MAX_SCALE, Integer.parseInt(scale.getDomProperty("max")));
                assertEquals((int) DemoRequest.DEFAULT_SCALE, Integer.parseInt(scale.getDomProperty("value")));
                assertEquals("3", d.findElement(By.id("scaleOut")).getText());
                WebElement steps = d.findElement(By.id("steps"));
                assertEquals(String.valueOf(DemoRequest.DEFAULT_STEPS), steps.getDomProperty("value"));
                assertEquals(String.valueOf(DemoRequest.MIN_STEPS), steps.getDomProperty("min"));
                assertEquals(String.valueOf(DemoRequest.MAX_STEPS), steps.getDomProperty("max"));
                assertEquals(String.valueOf(DemoRequest.DEFAULT_SEED), value(d, "seed"));
                assertTrue(d.findElement(By.id("generate")).isEnabled());
                List<WebElement> presets = d.findElements(By.cssSelector("button.example"));
                assertEquals(List.of("#BB2266/3", "#44CCAA/5"), presets.stream()
                        .map(b -> b.getDomAttribute("data-color") + "/" + b.getDomAttribute("data-scale")).toList());
                new WebDriverWait(d, Duration.ofSeconds(30)).until(x -> x.findElement(By.id("model")).getText().equals("emoji-base"));
            } finally {
                d.quit();
            }
        }
    }

    /**
     * Clicking the preset "#44CCAA, 5" sets the colour field and the slider and asks for that image; while it is made
     * the page shows "step k of n" and keeps Generate and the presets disabled (a second generate() sends nothing);
     * then the new image appears.
     */
    @Test
    void aPresetSetsColourAndScaleShowsProgressAndANewImage() throws Exception {
        Gate gate = new Gate(2);
        try (DemoServer server = new DemoServer(gate, "test", DemoServer.loopback(0), 2).start()) {
            ChromeDriver d = Browser.start();
            try {
                d.get(server.url());
                // count the page's generate requests
                d.executeScript("window.generateRequests = 0; const f = window.fetch;"
                        + "window.fetch = (u, o) => { if (String(u).startsWith('/api/generate')) window.generateRequests++;"
                        + " return f(u, o); };");
                String before = d.findElement(By.id("result")).getDomAttribute("data-done");
                WebElement preset = d.findElement(By.cssSelector("button.example[data-color='#44CCAA']"));
                preset.click();
                assertEquals("#44CCAA", value(d, "colorText"));
                assertEquals("#44ccaa", value(d, "color"));
                assertEquals("5", value(d, "scale"));
                assertEquals("5", d.findElement(By.id("scaleOut")).getText());
                assertTrue(gate.awaitStarted(), "the preset's request reached the generator");
                DemoRequest asked = gate.last.get();
                assertEquals("#44CCAA", asked.color());
                assertEquals(5f, asked.scale());
                assertEquals(40, asked.steps());
                // the generator holds at step 2 of 40: the page's poll shows it
                new WebDriverWait(d, Duration.ofSeconds(30)).until(x ->
                        x.findElement(By.id("status")).getText().equals("Generating… step 2 of 40"));
                assertFalse(d.findElement(By.id("generate")).isEnabled(), "Generate is disabled while generating");
                for (WebElement b : d.findElements(By.cssSelector("button.example"))) {
                    assertFalse(b.isEnabled(), "presets are disabled while generating");
                }
                // a second generate() (as a double click or a script would) sends nothing and keeps the poll timer
                assertEquals(Boolean.TRUE, d.executeScript("const t = timer; generate();"
                        + " document.querySelector('button.example').click(); return t !== null && timer === t;"));
                assertEquals(1L, d.executeScript("return window.generateRequests;"));
                gate.open();
                new WebDriverWait(d, Duration.ofSeconds(60)).until(x -> {
                    String done = x.findElement(By.id("result")).getDomAttribute("data-done");
                    return done != null && !done.equals(before) && (Boolean) d.executeScript(
                            "const i = document.getElementById('result'); return i.complete && i.naturalWidth > 0;");
                });
                assertTrue(d.findElement(By.id("status")).getText().startsWith("Done in"));
                assertEquals("", d.findElement(By.id("error")).getText());
                assertTrue(d.findElement(By.id("generate")).isEnabled());
                assertTrue(preset.isEnabled());
                assertEquals(Boolean.TRUE, d.executeScript("return timer === null;"), "the poll timer was cleared");
                double[] mean = meanColour(d);
                assertArrayEquals(new double[] {0x44, 0xCC, 0xAA}, mean, 0.5, "the painted preset colour");
            } finally {
                d.quit();
            }
            assertEquals(1, server.served());
            assertEquals(1, gate.calls.get());
        }
    }

    private static String value(WebDriver d, String id) {
        return d.findElement(By.id(id)).getDomProperty("value");
    }

    private static void setField(WebDriver d, String id, String value) {
        var e = d.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    /** Sets the scale slider, clicks Generate, waits for the new image and returns its mean RGB (0..255). */
    private static double[] generate(ChromeDriver d, String scale) {
        JavascriptExecutor js = d;
        js.executeScript("const s = document.getElementById('scale'); s.value = arguments[0];"
                + "s.dispatchEvent(new Event('input', {bubbles: true}));", scale);
        String before = d.findElement(By.id("result")).getDomAttribute("data-done");
        d.findElement(By.id("generate")).click();
        new WebDriverWait(d, Duration.ofSeconds(120)).until(x -> {
            if (!x.findElement(By.id("error")).getText().isEmpty()) {
                return true;
            }
            String done = x.findElement(By.id("result")).getDomAttribute("data-done");
            return done != null && !done.equals(before) && (Boolean) js.executeScript(
                    "const i = document.getElementById('result'); return i.complete && i.naturalWidth > 0;");
        });
        assertEquals("", d.findElement(By.id("error")).getText(), "the page shows an error");
        return meanColour(d);
    }

    /** The mean RGB (0..255) of the page's image, read back through a canvas. */
    @SuppressWarnings("unchecked")
    private static double[] meanColour(ChromeDriver d) {
        List<Number> mean = (List<Number>) d.executeScript(
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
