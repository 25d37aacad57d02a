package diffusionkit.hub;

import diffusionkit.hub.HubException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kit's hub client against {@link LoopbackHub}, a hub on the loopback that answers as the Hugging Face Hub does:
 * what it downloads, what it asks, what it leaves in the cache (huggingface_hub's layout), and every failure.
 */
class HubTest {

    static final Path UNET_A = Paths.get("src/test/resources/vectors/unet_a");
    static final Path SCHEDULER = Paths.get("src/test/resources/vectors/scheduler_configs/ddpm_linear");
    static final Path BIN_TWIN = Paths.get("src/test/resources/vectors/bin_twins/unet_a");
    static final String ID = "kit-test/tiny-ddpm";
    static final String WEIGHTS = "unet/diffusion_pytorch_model.safetensors";

    LoopbackHub server;
    LoopbackHub.Repo repo;
    ByteArrayOutputStream messages = new ByteArrayOutputStream();

    @TempDir
    Path cache;

    @BeforeEach
    void start() throws Exception {
        server = new LoopbackHub();
        repo = tinyPipeline(server, ID);
    }

    /** A diffusers DDPM pipeline (the tiny unet_a of the diffusers vectors) with files the kit must not download. */
    static LoopbackHub.Repo tinyPipeline(LoopbackHub server, String id) throws Exception {
        String index = "{\n  \"_class_name\": \"DDPMPipeline\",\n  \"_diffusers_version\": \"0.31.0\",\n"
                + "  \"scheduler\": [\"diffusers\", \"DDPMScheduler\"],\n  \"unet\": [\"diffusers\", \"UNet2DModel\"]\n}\n";
        return server.repo(id)
                .file("model_index.json", index.getBytes(StandardCharsets.UTF_8))
                .file("README.md", "# tiny".getBytes(StandardCharsets.UTF_8))
                .file("unet/config.json", Files.readAllBytes(UNET_A.resolve("config.json")))
                .lfs(WEIGHTS, Files.readAllBytes(UNET_A.resolve("diffusion_pytorch_model.safetensors")))
                .lfs("unet/diffusion_pytorch_model.bin", Files.readAllBytes(BIN_TWIN.resolve("diffusion_pytorch_model.bin")))
                .lfs("unet/diffusion_pytorch_model.fp16.safetensors", new byte[200_000])
                .file("scheduler/scheduler_config.json", Files.readAllBytes(SCHEDULER.resolve("scheduler_config.json")));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    Hub hub(HubSettings s) {
        return new Hub(s, DownloadProgress.lines(new PrintStream(messages, true, StandardCharsets.UTF_8), 0))
                .retryPause(Duration.ZERO);
    }

    Hub hub() {
        return hub(server.settings(cache));
    }

    String messages() {
        return messages.toString(StandardCharsets.UTF_8);
    }

    static Set<String> files(Path dir) throws Exception {
        Set<String> out = new TreeSet<>();
        try (var s = Files.walk(dir)) {
            s.filter(p -> Files.isRegularFile(p) || Files.isSymbolicLink(p)).forEach(p -> out.add(dir.relativize(p).toString()));
        }
        return out;
    }

    @Test
    void downloadsOnlyWhatAPipelineNeedsInHuggingfaceHubsLayout() throws Exception {
        Path folder = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());

        Path repoDir = cache.resolve("models--kit-test--tiny-ddpm");
        assertEquals(repoDir.resolve("snapshots").resolve(repo.commit), folder);
        assertEquals(Set.of("model_index.json", "scheduler/scheduler_config.json", "unet/config.json", WEIGHTS),
                files(folder), "the safetensors weights only: no .bin, no fp16 variant, no README");
        for (String f : files(folder)) {
            Path p = folder.resolve(f);
            assertTrue(Files.isSymbolicLink(p), f + " is a link into blobs/");
            assertFalse(Files.readSymbolicLink(p).isAbsolute(), "relative links, as huggingface_hub makes them");
            assertArrayEquals(repo.files.get(f), Files.readAllBytes(p), f);
            String etag = repo.lfs.get(f) ? LoopbackHub.sha256Hex(repo.files.get(f)) : LoopbackHub.gitBlobSha1(repo.files.get(f));
            assertEquals(repoDir.resolve("blobs").resolve(etag), p.toRealPath(), "blobs are named by their etag");
        }
        assertEquals(repo.commit, Files.readString(repoDir.resolve("refs/main")), "refs/main holds the commit, no newline");
        assertEquals(Set.of(), files(repoDir.resolve("blobs")).stream().filter(n -> n.endsWith(".incomplete"))
                .collect(java.util.stream.Collectors.toSet()));
        // the LFS file came from the CDN host without the token, and every later request named the commit
        List<LoopbackHub.Request> gets = server.requests("GET");
        assertTrue(gets.stream().anyMatch(r -> r.path().startsWith("/cdn/")));
        assertTrue(server.requests("HEAD").stream().skip(1).allMatch(r -> r.path().contains("/resolve/" + repo.commit + "/")),
                "after the first answer, files are asked at its commit: one consistent snapshot");
        assertTrue(messages().contains("[hub] kit-test/tiny-ddpm " + WEIGHTS + ": 2.8 MB"), messages());
    }

    @Test
    void aSecondLoadIsACacheHitThatDownloadsNothing() throws Exception {
        Path first = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        int gets = server.requests("GET").size();
        Path second = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        assertEquals(first, second);
        assertEquals(gets, server.requests("GET").size(), "no GET: only HEADs to check the etags");
        assertFalse(server.requests("HEAD").isEmpty());
    }

    @Test
    void offlineTheCacheAnswersWithoutAnyRequest() throws Exception {
        Path online = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        int requests = server.log.size();
        Path offline = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub(server.settings(cache).withOffline(true)));
        assertEquals(online, offline);
        assertEquals(requests, server.log.size(), "HF_HUB_OFFLINE: no request at all");
        // a commit hash as the revision needs no request either, online
        Path byCommit = Pretrained.folder(ID + "@" + repo.commit, Pretrained.Kind.PIPELINE, hub());
        assertEquals(online, byCommit);
        assertEquals(requests, server.log.size());
    }

    @Test
    void offlineWithoutTheFilesSaysWhatToDownloadAndHow() {
        HubException e = assertThrows(HubException.class, () -> Pretrained.folder(ID, Pretrained.Kind.PIPELINE,
                hub(server.settings(cache).withOffline(true))));
        assertEquals(Reason.NOT_IN_CACHE, e.reason());
        assertTrue(e.getMessage().contains("kit-test/tiny-ddpm") && e.getMessage().contains(cache.toString())
                && e.getMessage().contains("HF_HUB_OFFLINE") && e.getMessage().contains("snapshot_download(\"kit-test/tiny-ddpm\")"),
                e.getMessage());
        assertTrue(server.log.isEmpty());
    }

    @Test
    void aGatedRepositoryNeedsATokenWhichNeverGoesToTheCdn() throws Exception {
        repo.gated("hf_secret");
        HubException e = assertThrows(HubException.class, () -> Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub()));
        assertEquals(Reason.GATED, e.reason());
        assertTrue(e.getMessage().contains("gated") && e.getMessage().contains("HF_TOKEN")
                && e.getMessage().contains("no token was sent"), e.getMessage());

        HubException wrong = assertThrows(HubException.class, () -> Pretrained.folder(ID, Pretrained.Kind.PIPELINE,
                hub(server.settings(cache).withToken("hf_other"))));
        assertTrue(wrong.getMessage().contains("the token sent has no access"), wrong.getMessage());

        Path folder = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub(server.settings(cache).withToken("hf_secret")));
        assertArrayEquals(repo.files.get(WEIGHTS), Files.readAllBytes(folder.resolve(WEIGHTS)));
        for (LoopbackHub.Request r : server.log) {
            if (r.path().startsWith("/cdn/")) {
                assertNull(r.authorization(), "the token is for the hub only");
            } else if (r.path().contains("/resolve/") && server.log.indexOf(r) > 1) {
                assertNotNull(r.authorization());
            }
        }
    }

    @Test
    void anInterruptedDownloadResumesWhereItStopped() throws Exception {
        server.cutNextDownload(WEIGHTS, 1_000_000);
        Path folder = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        assertArrayEquals(repo.files.get(WEIGHTS), Files.readAllBytes(folder.resolve(WEIGHTS)));
        List<String> ranges = server.requests("GET").stream().filter(r -> r.path().startsWith("/cdn/"))
                .map(LoopbackHub.Request::range).toList();
        assertEquals(Arrays.asList(null, "bytes=1000000-"), ranges, "the second request asks for the rest only");
        assertTrue(messages().contains("cut at 1.0 MB"), messages());
    }

    @Test
    void aStalledDownloadTimesOutAndResumes() throws Exception {
        server.stallNextDownload(WEIGHTS, 500_000, Duration.ofSeconds(3));
        HubSettings impatient = server.settings(cache).withTimeouts(Duration.ofSeconds(5), Duration.ofMillis(500));
        Path file = hub(impatient).download(ID, WEIGHTS, null);
        assertArrayEquals(repo.files.get(WEIGHTS), Files.readAllBytes(file));
        assertEquals(Arrays.asList(null, "bytes=500000-"), server.requests("GET").stream()
                .filter(r -> r.path().startsWith("/cdn/")).map(LoopbackHub.Request::range).toList());
        assertTrue(messages().contains("cut at 500.0 kB") && messages().contains("Read timed out"), messages());
    }

    @Test
    void aRenamedRepositoryIsFollowedByItsRelativeRedirect() throws Exception {
        server.rename("kit-test/old-name", ID);
        Path file = hub().download("kit-test/old-name", "unet/config.json", null);
        assertArrayEquals(repo.files.get("unet/config.json"), Files.readAllBytes(file));
        assertTrue(file.startsWith(cache.resolve("models--kit-test--old-name")), "cached under the id asked for, as huggingface_hub");
    }

    @Test
    void aPartialDownloadLeftByAnEarlierProcessIsResumed() throws Exception {
        byte[] weights = repo.files.get(WEIGHTS);
        String sha = LoopbackHub.sha256Hex(weights);
        Path part = cache.resolve("models--kit-test--tiny-ddpm/blobs/" + sha + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(weights, 123_456));

        Path file = hub().download(ID, WEIGHTS, null);
        assertArrayEquals(weights, Files.readAllBytes(file));
        assertEquals(List.of("bytes=123456-"), server.requests("GET").stream().filter(r -> r.path().startsWith("/cdn/"))
                .map(LoopbackHub.Request::range).toList());
        assertFalse(Files.exists(part));
        assertTrue(messages().contains("resuming at 123.5 kB"), messages());
    }

    @Test
    void bytesThatDoNotMatchTheirChecksumAreRejectedAndNotKept() throws Exception {
        server.corruptDownloads(WEIGHTS);
        HubException e = assertThrows(HubException.class, () -> hub().download(ID, WEIGHTS, null));
        assertEquals(Reason.CORRUPTED, e.reason());
        assertTrue(e.getMessage().contains("sha256") && e.getMessage().contains(LoopbackHub.sha256Hex(repo.files.get(WEIGHTS))),
                e.getMessage());
        assertEquals(Set.of(), files(cache.resolve("models--kit-test--tiny-ddpm/blobs")), "nothing kept");
        assertFalse(Files.exists(cache.resolve("models--kit-test--tiny-ddpm/snapshots/" + repo.commit + "/" + WEIGHTS)));
    }

    @Test
    void aCorruptedCachedBlobIsFoundOfflineAndReplacedOnline() throws Exception {
        Path file = hub().download(ID, WEIGHTS, null);
        Path blob = file.toRealPath();
        byte[] b = Files.readAllBytes(blob);
        b[1000] ^= 1;
        Files.write(blob, b);

        HubException e = assertThrows(HubException.class,
                () -> hub(server.settings(cache).withOffline(true)).download(ID, WEIGHTS, null));
        assertEquals(Reason.CORRUPTED, e.reason());
        assertTrue(e.getMessage().contains(blob.toString()) && e.getMessage().contains("Delete"), e.getMessage());

        Path again = hub().download(ID, WEIGHTS, null);
        assertArrayEquals(repo.files.get(WEIGHTS), Files.readAllBytes(again));
        assertTrue(messages().contains("is corrupted") && messages().contains("downloading it again"), messages());
    }

    @Test
    void aRepositoryWithOnlyBinWeightsGetsTheBin() throws Exception {
        repo.files.remove(WEIGHTS);
        Path folder = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        assertTrue(files(folder).contains("unet/diffusion_pytorch_model.bin"));
        assertFalse(files(folder).contains(WEIGHTS));
        // the hub's "no such file" is remembered as huggingface_hub remembers it
        assertTrue(Files.isRegularFile(cache.resolve("models--kit-test--tiny-ddpm/.no_exist/" + repo.commit + "/" + WEIGHTS)));
        // and offline the remembered absence is not an error
        assertEquals(folder, Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub(server.settings(cache).withOffline(true))));
    }

    @Test
    void unknownRepositoriesRevisionsAndFilesAreNamed() {
        HubException repoMissing = assertThrows(HubException.class,
                () -> Pretrained.folder("kit-test/nope", Pretrained.Kind.PIPELINE, hub()));
        assertEquals(Reason.REPO_NOT_FOUND, repoMissing.reason());
        assertTrue(repoMissing.getMessage().contains("no repository kit-test/nope"), repoMissing.getMessage());

        HubException rev = assertThrows(HubException.class,
                () -> Pretrained.folder(ID + "@v9", Pretrained.Kind.PIPELINE, hub()));
        assertEquals(Reason.REVISION_NOT_FOUND, rev.reason());
        assertTrue(rev.getMessage().contains("'v9'"), rev.getMessage());

        HubException file = assertThrows(HubException.class, () -> hub().download(ID, "unet/nope.json", null));
        assertEquals(Reason.ENTRY_NOT_FOUND, file.reason());

        // neither a folder, nor a kit model, nor a hub id: no request, a message that says so
        Exception neither = assertThrows(diffusionkit.io.CheckpointException.class,
                () -> Pretrained.pipeline("runs/does/not/exist"));
        // nor is a bare name (a mistyped kit model) sent to the hub
        assertFalse(Pretrained.isHubReference("emoji-bsae"));
        assertTrue(Pretrained.isHubReference("google/ddpm-cifar10-32@main"));
        int before = server.log.size();
        assertThrows(diffusionkit.io.CheckpointException.class, () -> Pretrained.folder("emoji-bsae", Pretrained.Kind.PIPELINE, hub()));
        assertEquals(before, server.log.size());
        assertTrue(neither.getMessage().contains("neither a folder here") && neither.getMessage().contains("org/name"),
                neither.getMessage());
    }

    @Test
    void aSlowOrUnreachableHubFallsBackToTheCache() throws Exception {
        Path online = Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub());
        server.slowHeads(Duration.ofMillis(1500));
        HubSettings impatient = server.settings(cache).withTimeouts(Duration.ofMillis(300), Duration.ofMillis(300));
        assertEquals(online, Pretrained.folder(ID, Pretrained.Kind.PIPELINE, hub(impatient)));
        assertTrue(messages().contains("HF_HUB_ETAG_TIMEOUT") && messages().contains("using the cached"), messages());

        HubException e = assertThrows(HubException.class, () -> Pretrained.folder(ID, Pretrained.Kind.PIPELINE,
                hub(impatient.withCacheDir(cache.resolve("empty")))));
        assertEquals(Reason.NOT_IN_CACHE, e.reason());
        assertTrue(e.getMessage().contains("cannot be reached") && e.getMessage().contains("HF_HUB_ETAG_TIMEOUT"), e.getMessage());
    }

    @Test
    void aBareUnetRepositoryAndAPipelinesUnetAndScheduler() throws Exception {
        server.repo("kit-test/bare-unet").folder("", UNET_A);
        Path bare = Pretrained.folder("kit-test/bare-unet", Pretrained.Kind.PIPELINE, hub());
        assertTrue(files(bare).containsAll(Set.of("config.json", "diffusion_pytorch_model.safetensors")));
        assertFalse(files(bare).contains("io.safetensors"), "only what a UNet folder needs");
        assertEquals(bare, Pretrained.folder("kit-test/bare-unet", Pretrained.Kind.UNET, hub()));

        Path unet = Pretrained.folder(ID, Pretrained.Kind.UNET, hub());
        assertTrue(unet.endsWith("unet"));
        assertEquals(Set.of("config.json", "diffusion_pytorch_model.safetensors"), files(unet));
        Path scheduler = Pretrained.folder(ID, Pretrained.Kind.SCHEDULER, hub());
        assertEquals(Set.of("scheduler_config.json"), files(scheduler));
    }

    @Test
    void settingsAreReadAsHuggingfaceHubReadsThem() throws Exception {
        Path home = Paths.get("/home/learner");
        HubSettings d = HubSettings.from(java.util.Map.of(), home);
        assertEquals("https://huggingface.co", d.endpoint());
        assertEquals(home.resolve(".cache/huggingface/hub"), d.cacheDir());
        assertFalse(d.offline());
        assertNull(d.token());
        assertEquals(Duration.ofSeconds(10), d.etagTimeout());

        assertEquals(Paths.get("/x/huggingface/hub"), HubSettings.from(java.util.Map.of("XDG_CACHE_HOME", "/x"), home).cacheDir());
        assertEquals(Paths.get("/h/hub"), HubSettings.from(java.util.Map.of("HF_HOME", "/h"), home).cacheDir());
        assertEquals(Paths.get("/c"), HubSettings.from(java.util.Map.of("HF_HOME", "/h", "HF_HUB_CACHE", "/c"), home).cacheDir());
        assertEquals(Paths.get("/old"), HubSettings.from(java.util.Map.of("HUGGINGFACE_HUB_CACHE", "/old"), home).cacheDir());
        assertEquals(home.resolve("hfc"), HubSettings.from(java.util.Map.of("HF_HUB_CACHE", "~/hfc"), home).cacheDir());
        for (String on : List.of("1", "ON", "yes", "True")) {
            assertTrue(HubSettings.from(java.util.Map.of("HF_HUB_OFFLINE", on), home).offline(), on);
        }
        assertFalse(HubSettings.from(java.util.Map.of("HF_HUB_OFFLINE", "0"), home).offline());
        assertTrue(HubSettings.from(java.util.Map.of("TRANSFORMERS_OFFLINE", "1"), home).offline());
        assertEquals("http://127.0.0.1:9", HubSettings.from(java.util.Map.of("HF_ENDPOINT", "http://127.0.0.1:9/"), home).endpoint());
        assertEquals("hf_a", HubSettings.from(java.util.Map.of("HF_TOKEN", "hf_a", "HUGGING_FACE_HUB_TOKEN", "hf_b"), home).token());

        Path hfHome = cache.resolve("hfhome");
        Files.createDirectories(hfHome);
        Files.writeString(hfHome.resolve("token"), "hf_from_login\n");
        HubSettings login = HubSettings.from(java.util.Map.of("HF_HOME", hfHome.toString()), home);
        assertEquals("hf_from_login", login.token(), "huggingface-cli login's token file");
        assertFalse(login.toString().contains("hf_from_login"), "the token is never printed");
    }

    @Test
    void repositoryIdsAreValidatedAsHuggingfaceHubValidatesThem() {
        for (String ok : List.of("google/ddpm-celebahq-256", "gpt2", "a_b/c.d-e")) {
            assertTrue(HubCache.isRepoId(ok), ok);
        }
        for (String bad : List.of("a/b/c", "a--b/c", "../x", "a/.b", "a/b-", "", "with space/x", "x".repeat(97))) {
            assertFalse(HubCache.isRepoId(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> hub().resolve(ID, "../../etc/passwd", null));
        assertThrows(IllegalArgumentException.class, () -> hub().resolve(ID, "config.json", "../x"));
        assertEquals("abc", Hub.normalizeEtag("W/\"abc\""));
        assertEquals("abc", Hub.normalizeEtag("\"abc\""));
    }
}
