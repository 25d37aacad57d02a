package diffusionkit.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where the Hugging Face Hub is and where its files are cached, read from the same environment variables as Python's
 * {@code huggingface_hub} (v0.30 {@code constants.py}), with the same defaults, so the kit and Python share one cache:
 *
 * <ul>
 *   <li>{@code HF_ENDPOINT}: the hub's address (default {@value #DEFAULT_ENDPOINT});</li>
 *   <li>{@code HF_HOME}: default {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface};</li>
 *   <li>{@code HF_HUB_CACHE} (or the older {@code HUGGINGFACE_HUB_CACHE}): default {@code $HF_HOME/hub};</li>
 *   <li>{@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) = 1/ON/YES/TRUE: never touch the network;</li>
 *   <li>{@code HF_TOKEN} (or {@code HUGGING_FACE_HUB_TOKEN}), else the file {@code HF_TOKEN_PATH} (default
 *       {@code $HF_HOME/token}, written by {@code huggingface-cli login}): the token for gated and private repos;</li>
 *   <li>{@code HF_HUB_ETAG_TIMEOUT} (default 10 s: waiting for a file's metadata) and
 *       {@code HF_HUB_DOWNLOAD_TIMEOUT} (default 10 s: waiting for the next bytes of a download).</li>
 * </ul>
 *
 * A Java system property of the same name overrides the variable ({@code -DHF_HUB_OFFLINE=1}): a JVM cannot change its
 * own environment, and a kernel's or test's JVM options can set properties.
 *
 * @param endpoint the hub's base address, without a trailing slash
 * @param cacheDir the cache folder ({@code models--org--name/...} inside)
 * @param offline true: cache only
 * @param token the access token, or null
 * @param etagTimeout the wait for a file's metadata
 * @param downloadTimeout the wait for the next bytes while downloading
 */
public record HubSettings(String endpoint, Path cacheDir, boolean offline, String token, Duration etagTimeout,
        Duration downloadTimeout) {

    /** huggingface_hub's default endpoint. */
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    /** Settings; the endpoint loses a trailing slash. */
    public HubSettings {
        endpoint = endpoint.replaceAll("/+$", "");
        cacheDir = cacheDir.toAbsolutePath();
        if (token != null && token.isBlank()) {
            token = null;
        }
    }

    /** The settings of this process: its environment, overridden by system properties of the same names. */
    public static HubSettings fromEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        System.getProperties().forEach((k, v) -> {
            String key = k.toString();
            if (key.startsWith("HF_") || key.startsWith("HUGGING") || key.equals("TRANSFORMERS_OFFLINE")
                    || key.equals("XDG_CACHE_HOME")) {
                env.put(key, v.toString());
            }
        });
        return from(env, Paths.get(System.getProperty("user.home")));
    }

    /** The settings {@code env} gives, as huggingface_hub reads them; {@code home} is the user's home folder. */
    public static HubSettings from(Map<String, String> env, Path home) {
        String xdg = nonBlank(env.get("XDG_CACHE_HOME"));
        Path hfHome = path(nonBlank(env.get("HF_HOME")), () -> (xdg != null ? Paths.get(xdg) : home.resolve(".cache"))
                .resolve("huggingface"), home);
        String cache = firstNonBlank(env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"));
        Path cacheDir = path(cache, () -> hfHome.resolve("hub"), home);
        boolean offline = isTrue(firstNonBlank(env.get("HF_HUB_OFFLINE"), env.get("TRANSFORMERS_OFFLINE")));
        String token = firstNonBlank(env.get("HF_TOKEN"), env.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            Path tokenFile = path(nonBlank(env.get("HF_TOKEN_PATH")), () -> hfHome.resolve("token"), home);
            if (Files.isRegularFile(tokenFile)) {
                try {
                    token = nonBlank(Files.readString(tokenFile).strip());
                } catch (IOException e) {
                    token = null; // unreadable token file: anonymous, as huggingface_hub
                }
            }
        }
        String endpoint = firstNonBlank(env.get("HF_ENDPOINT"), DEFAULT_ENDPOINT);
        return new HubSettings(endpoint, cacheDir, offline, token, seconds(env.get("HF_HUB_ETAG_TIMEOUT"), 10),
                seconds(env.get("HF_HUB_DOWNLOAD_TIMEOUT"), 10));
    }

    /** These settings with another cache folder. */
    public HubSettings withCacheDir(Path dir) {
        return new HubSettings(endpoint, dir, offline, token, etagTimeout, downloadTimeout);
    }

    /** These settings, offline or not. */
    public HubSettings withOffline(boolean off) {
        return new HubSettings(endpoint, cacheDir, off, token, etagTimeout, downloadTimeout);
    }

    /** These settings with another token (null: none). */
    public HubSettings withToken(String t) {
        return new HubSettings(endpoint, cacheDir, offline, t, etagTimeout, downloadTimeout);
    }

    /** These settings with other timeouts. */
    public HubSettings withTimeouts(Duration etag, Duration download) {
        return new HubSettings(endpoint, cacheDir, offline, token, etag, download);
    }

    /** One line for {@code ./kit info}: endpoint, cache, offline, whether a token is set (never the token). */
    public String describe() {
        return "endpoint " + endpoint + ", cache " + cacheDir + (offline ? ", offline (HF_HUB_OFFLINE)" : "")
                + (token != null ? ", token set" : ", no token");
    }

    @Override
    public String toString() {
        return "HubSettings[" + describe() + "]"; // never print the token
    }

    static boolean isTrue(String value) {
        return value != null && TRUE_VALUES.contains(value.strip().toUpperCase(Locale.ROOT));
    }

    private static Duration seconds(String value, double dflt) {
        double s = dflt;
        if (nonBlank(value) != null) {
            try {
                s = Double.parseDouble(value.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("a hub timeout is '" + value + "': give seconds, e.g. 10", e);
            }
        }
        return Duration.ofMillis(Math.round(s * 1000));
    }

    /** A path as huggingface_hub expands it: {@code ~} is the home folder. */
    private static Path path(String value, java.util.function.Supplier<Path> dflt, Path home) {
        if (value == null) {
            return dflt.get();
        }
        if (value.equals("~") || value.startsWith("~/")) {
            return home.resolve(value.equals("~") ? "" : value.substring(2));
        }
        return Paths.get(value);
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static String firstNonBlank(String a, String b) {
        return nonBlank(a) != null ? a.strip() : nonBlank(b) != null ? b.strip() : null;
    }
}
