package diffusionkit.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import diffusionkit.data.KitHome;
import diffusionkit.hub.HubException.Reason;
import diffusionkit.io.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns what a learner writes for a model into the folder a loader reads, as diffusers' {@code from_pretrained} does:
 * <ol>
 *   <li>a folder that exists: that folder;</li>
 *   <li>the name of one of the kit's models ({@code emoji-base}: {@code datasets/models/emoji-base} of the checkout);</li>
 *   <li>a hub id ({@code google/ddpm-celebahq-256}, or {@code google/ddpm-celebahq-256@<revision>}): the snapshot
 *       folder in the Hugging Face cache, after fetching the files of that kind of model the cache lacks (and only
 *       those: a pipeline's {@code model_index.json}, its UNet's config and safetensors weights, or the
 *       {@code .bin} where a repository has no safetensors, its scheduler config). Offline, the cache alone.</li>
 * </ol>
 *
 * <pre>{@code
 * Path folder = Pretrained.pipeline("google/ddpm-celebahq-256");   // then DDPMPipeline.fromPretrained(folder)
 * }</pre>
 */
public final class Pretrained {

    /** The UNet weights, in the order diffusers prefers them. */
    static final String[] UNET_WEIGHTS = {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"};
    /** The transformers weights, in the order transformers prefers them. */
    static final String[] TRANSFORMERS_WEIGHTS = {"model.safetensors", "pytorch_model.bin"};

    private Pretrained() {}

    /** What a reference names. */
    public enum Kind {
        /** A diffusers pipeline ({@code model_index.json}, {@code unet/}, {@code scheduler/}), a bare UNet, or the kit's class-conditioned layout. */
        PIPELINE,
        /** A UNet2DModel folder ({@code config.json} + weights); a pipeline repository's {@code unet/}. */
        UNET,
        /** A folder with {@code scheduler_config.json}; a pipeline repository's {@code scheduler/}. */
        SCHEDULER,
        /** A transformers CLIP folder: {@code config.json}, weights and the tokenizer files. */
        CLIP,
        /** A CLIP tokenizer: {@code vocab.json} + {@code merges.txt} (or {@code tokenizer.json}). */
        CLIP_TOKENIZER
    }

    /** A pipeline folder for {@code ref}, through {@link Hub#fromEnvironment()}. */
    public static Path pipeline(String ref) throws IOException {
        return folder(ref, Kind.PIPELINE, null);
    }

    /** A UNet folder for {@code ref}. */
    public static Path unet(String ref) throws IOException {
        return folder(ref, Kind.UNET, null);
    }

    /** A scheduler folder for {@code ref}. */
    public static Path scheduler(String ref) throws IOException {
        return folder(ref, Kind.SCHEDULER, null);
    }

    /** A CLIP folder (model and tokenizer) for {@code ref}. */
    public static Path clip(String ref) throws IOException {
        return folder(ref, Kind.CLIP, null);
    }

    /**
     * Whether {@code ref} would be looked up on the hub: it is neither a folder nor a kit model, and is a hub id with
     * its organisation ({@code org/name}). A bare name is never sent to the hub (the hub's few legacy ids without an
     * organisation are not diffusion models): a mistyped kit model name gets a message listing the kit's models,
     * not a network request.
     */
    public static boolean isHubReference(String ref) {
        String id = idOf(ref);
        return local(ref) == null && id.contains("/") && HubCache.isRepoId(id);
    }

    /**
     * The folder for {@code ref} of kind {@code kind}.
     *
     * @param hub the hub to ask; null for {@link Hub#fromEnvironment()}, made only when {@code ref} is a hub id
     * @throws CheckpointException (a {@link HubException} from the hub) naming what is wrong and the fix
     */
    public static Path folder(String ref, Kind kind, Hub hub) throws IOException {
        Path local = local(ref);
        if (local != null) { // a pipeline folder holds its UNet and scheduler in sub-folders, as on the hub
            if (kind == Kind.UNET && !Files.isRegularFile(local.resolve("config.json"))
                    && Files.isRegularFile(local.resolve("unet/config.json"))) {
                return local.resolve("unet");
            }
            if (kind == Kind.SCHEDULER && !Files.isRegularFile(local.resolve("scheduler_config.json"))
                    && Files.isRegularFile(local.resolve("scheduler/scheduler_config.json"))) {
                return local.resolve("scheduler");
            }
            return local;
        }
        String id = idOf(ref);
        String revision = ref.contains("@") ? ref.substring(ref.indexOf('@') + 1) : Hub.MAIN;
        if (!isHubReference(ref)) {
            throw new CheckpointException("'" + ref + "' is neither a folder here (" + Paths.get(ref).toAbsolutePath()
                    + " does not exist), nor a kit model (" + kitModels() + "), nor a hub id (org/name, e.g."
                    + " google/ddpm-cifar10-32, optionally @revision). Check the path.");
        }
        Snapshot s = new Snapshot(hub != null ? hub : Hub.fromEnvironment(), id, revision);
        return switch (kind) {
            case PIPELINE -> s.pipeline();
            case UNET -> s.unet();
            case SCHEDULER -> s.scheduler();
            case CLIP -> s.clip(true);
            case CLIP_TOKENIZER -> s.tokenizer();
        };
    }

    /** The folder of the kit's own models ({@code datasets/models} of the checkout), or null outside a checkout. */
    public static Path kitModelsRoot() {
        Path home = KitHome.find();
        return home == null ? null : home.resolve("datasets").resolve("models");
    }

    /** The names of the kit's own models present, sorted (none outside a checkout). */
    public static List<String> kitModelNames() {
        Path root = kitModelsRoot();
        if (root == null || !Files.isDirectory(root)) {
            return List.of();
        }
        try (var s = Files.list(root)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of(); // listed as none
        }
    }

    private static Path local(String ref) {
        Path p = Paths.get(ref);
        if (Files.isDirectory(p)) {
            return p;
        }
        Path root = kitModelsRoot();
        if (root != null && !ref.contains("/") && !ref.contains("@") && !ref.isBlank()) {
            Path kit = root.resolve(ref);
            if (Files.isDirectory(kit)) {
                return kit;
            }
        }
        return null;
    }

    private static String idOf(String ref) {
        return ref.contains("@") ? ref.substring(0, ref.indexOf('@')) : ref;
    }

    private static String kitModels() {
        if (kitModelsRoot() == null) {
            return "none: not inside the kit's checkout";
        }
        List<String> names = kitModelNames();
        return names.isEmpty() ? "none found" : "datasets/models: " + String.join(", ", names);
    }

    /** The files of one repository at one commit: the first answer fixes the commit, later files are asked at it. */
    private static final class Snapshot {
        private final Hub hub;
        private final String id;
        private String revision;
        private String commit;
        /** Files that were not in the cache while offline or with the hub unreachable, and the error that said so. */
        private final Map<String, HubException> notCached = new java.util.HashMap<>();

        Snapshot(Hub hub, String id, String revision) {
            this.hub = hub;
            this.id = id;
            this.revision = revision;
        }

        Path pipeline() throws IOException {
            Optional<Path> index = optional("model_index.json");
            if (index.isPresent()) {
                JsonObject components = JsonParser.parseString(Files.readString(index.get())).getAsJsonObject();
                boolean unet = false;
                for (Map.Entry<String, JsonElement> e : components.entrySet()) {
                    String cls = componentClass(e.getValue());
                    if (e.getKey().startsWith("_") || cls == null) {
                        continue;
                    }
                    if (cls.endsWith("Scheduler")) {
                        optional(e.getKey() + "/scheduler_config.json");
                    } else if (cls.equals("UNet2DModel")) {
                        unetFiles(e.getKey() + "/");
                        unet = true;
                    } // other components (a VAE, a text encoder) are not used by the kit's pipelines
                }
                if (!unet) {
                    throw new HubException(Reason.ENTRY_NOT_FOUND, id + "'s model_index.json names no UNet2DModel ("
                            + components.keySet() + "): the kit's pipelines run a UNet2DModel and a scheduler, as"
                            + " google/ddpm-* repositories hold.");
                }
                return folder();
            }
            if (optional("class_conditioned.json").isPresent()) { // the kit's class-conditioned layout
                required("class_emb.safetensors");
                unetFiles("unet/");
                optional("scheduler/scheduler_config.json");
                return folder();
            }
            unetFiles("");
            optional("scheduler_config.json");
            return folder();
        }

        Path unet() throws IOException {
            if (optional("config.json").isEmpty() && optional("unet/config.json").isPresent()) {
                unetFiles("unet/");
                return folder().resolve("unet");
            }
            unetFiles("");
            return folder();
        }

        Path scheduler() throws IOException {
            if (optional("scheduler_config.json").isPresent()) {
                return folder();
            }
            required("scheduler/scheduler_config.json");
            return folder().resolve("scheduler");
        }

        Path clip(boolean withTokenizer) throws IOException {
            required("config.json");
            oneOf(TRANSFORMERS_WEIGHTS);
            if (withTokenizer) {
                tokenizer();
            }
            return folder();
        }

        Path tokenizer() throws IOException {
            optional("tokenizer_config.json");
            optional("special_tokens_map.json");
            boolean vocab = optional("vocab.json").isPresent();
            boolean merges = optional("merges.txt").isPresent();
            if (!(vocab && merges)) {
                required("tokenizer.json");
            }
            return folder();
        }

        private void unetFiles(String prefix) throws IOException {
            required(prefix + "config.json");
            String[] weights = new String[UNET_WEIGHTS.length];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = prefix + UNET_WEIGHTS[i];
            }
            oneOf(weights);
        }

        /** The first of {@code names} the repository has (safetensors before .bin: only that one is fetched). */
        private Path oneOf(String... names) throws IOException {
            for (String n : names) {
                Optional<Path> p = optional(n);
                if (p.isPresent()) {
                    return p.get();
                }
            }
            throw missing(names);
        }

        private Path required(String name) throws IOException {
            return optional(name).orElseThrow(() -> missing(name));
        }

        private HubException missing(String... names) {
            for (String n : names) {
                if (notCached.containsKey(n)) {
                    return notCached.get(n);
                }
            }
            String name = String.join(" or ", names);
            return new HubException(Reason.ENTRY_NOT_FOUND, id + " has no " + name + " at revision " + revision
                    + (commit != null ? " (commit " + commit + ")" : "") + ": the kit loads diffusers pipelines (model_index.json, unet/, scheduler/), UNet2DModel folders"
                    + " (config.json + " + UNET_WEIGHTS[0] + ") and transformers CLIP folders.");
        }

        /**
         * The file, or empty when the repository does not have it. Offline (or with the hub unreachable) a file the
         * cache lacks counts as absent once the commit is known from the cache; before that it is an error.
         */
        private Optional<Path> optional(String name) throws IOException {
            Hub.Resolved r;
            try {
                r = hub.resolve(id, name, commit != null ? commit : revision);
            } catch (HubException e) {
                if (e.reason() == Reason.NOT_IN_CACHE && commit == null) {
                    Optional<String> c = hub.cache().commitOf(id, revision);
                    if (c.isEmpty()) {
                        throw e;
                    }
                    commit = c.get();
                    notCached.put(name, e);
                    return Optional.empty();
                } else if (e.reason() == Reason.NOT_IN_CACHE) {
                    notCached.put(name, e);
                    return Optional.empty();
                }
                throw e;
            }
            if (commit == null && r.commit() != null) {
                commit = r.commit();
            }
            return r.path();
        }

        private Path folder() throws HubException {
            if (commit == null) {
                throw new HubException(Reason.HUB_ERROR, "the hub told no commit for " + id + " at " + revision);
            }
            return hub.cache().snapshot(id, commit);
        }

        private static String componentClass(JsonElement v) {
            if (v == null || !v.isJsonArray() || v.getAsJsonArray().size() != 2 || v.getAsJsonArray().get(1).isJsonNull()) {
                return null;
            }
            return v.getAsJsonArray().get(1).getAsString();
        }
    }
}
