package dev.icedit.eval.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.model.LanguageModel;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pre-edit observations kept on disk and reused across runs: they depend only on the unedited model, the case and
 * the measurement settings, not on the method, so a second method on the same data reads them instead of measuring
 * again. One JSON file per case, {@code DIR/<settings key>/<case key>.json}, written atomically (concurrent runs may
 * share a directory). The settings key covers everything an observation depends on: the model's weights
 * (fingerprint), its tokenizer and generation files, chat template, compute dtype and device, the thread count, the
 * protocol, fluency length and seed, and the code that measures (a hash of icedit's compiled classes, so a rebuilt
 * icedit never reads what an older one measured); the case key is the case itself (its index seeds the sample).
 * An entry that does not read back is measured again. Opening a cache directory stamps its {@code last-used} file;
 * directories no run opened for {@link #UNUSED_FOR} are removed (see {@link #prune}).
 */
final class BeforeCache {
    private static final Logger LOG = LoggerFactory.getLogger(BeforeCache.class);
    private static final String FORMAT = "icedit-before/1";
    private static final String SETTINGS = "settings.json";
    private static final String USED = "last-used";
    /** How long a cache directory may go unopened before a run removes it. */
    static final Duration UNUSED_FOR = Duration.ofDays(30);
    private static volatile String codeHash;

    private final Path dir;
    private final java.util.concurrent.atomic.AtomicInteger hits = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();

    private BeforeCache(Path dir) {
        this.dir = dir;
    }

    /** The cache for this model and these settings under {@code root}. */
    static BeforeCache open(Path root, LanguageModel model, Protocol protocol, int fluencyTokens, long seed) {
        Map<String, Object> key = new LinkedHashMap<>();
        key.put("format", FORMAT);
        key.put("code", codeHash());
        key.put("model_fingerprint", model.fingerprint());
        key.put("model_files", filesHash(model.directory()));
        key.put("chat_template", model.tokenizer().chatTemplate());
        key.put("compute_dtype", model.computeType().toString());
        key.put("device", model.device().toString());
        key.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
        key.put("protocol", protocol.label());
        key.put("fluency_tokens", fluencyTokens);
        key.put("seed", seed);
        String json = json(key);
        Path dir = root.toAbsolutePath().normalize().resolve(sha256(json).substring(0, 32));
        try {
            Files.createDirectories(dir);
            Path about = dir.resolve(SETTINGS);
            if (!Files.exists(about)) {
                RunDirectory.write(about, json + "\n");
            }
            RunDirectory.write(dir.resolve(USED), Instant.now() + "\n"); // its time keeps the directory from pruning
        } catch (IOException e) {
            throw dev.icedit.tensor.IceditException.inFile(dir, "cannot create the cache directory: " + e.getMessage());
        }
        int pruned = prune(dir.getParent(), UNUSED_FOR, Instant.now());
        if (pruned > 0) {
            LOG.info("removed {} pre-edit cache directories unused for {} days from {}", pruned, UNUSED_FOR.toDays(),
                    dir.getParent());
        }
        return new BeforeCache(dir);
    }

    /**
     * Removes the cache directories under {@code root} that no run has opened for {@code unused} (an older icedit
     * build, another model or setting): only directories this class writes (a 32-hex-digit name holding its
     * settings.json) and in them only its own files, so that a --cache pointed at a folder holding other things
     * loses none of them. Returns how many directories were removed.
     */
    static int prune(Path root, Duration unused, Instant now) {
        int removed = 0;
        List<Path> dirs;
        try (Stream<Path> children = Files.list(root)) {
            dirs = children.filter(d -> d.getFileName().toString().matches("[0-9a-f]{32}")
                    && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)).sorted().toList(); // a link may lead anywhere
        } catch (IOException e) {
            return 0;
        }
        for (Path d : dirs) {
            try {
                Path settings = d.resolve(SETTINGS);
                if (!Files.isRegularFile(settings)
                        || !FORMAT.equals(RunDirectory.JSON.readTree(settings.toFile()).path("format").asText())) {
                    continue;
                }
                Path used = Files.exists(d.resolve(USED)) ? d.resolve(USED) : settings;
                if (Files.getLastModifiedTime(used).toInstant().isAfter(now.minus(unused))) {
                    continue;
                }
                try (Stream<Path> files = Files.list(d)) {
                    for (Path f : files.toList()) {
                        String name = f.getFileName().toString();
                        if (name.matches("[0-9a-f]{40}\\.json") || name.equals(USED)) {
                            Files.delete(f);
                        }
                    }
                }
                Files.delete(settings); // last: a directory left half-pruned is still recognised and pruned again
                try (Stream<Path> rest = Files.list(d)) {
                    if (rest.findAny().isEmpty()) {
                        Files.delete(d);
                    }
                }
                removed++;
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: cannot prune this cache directory ({})", d, e.getMessage());
            }
        }
        return removed;
    }

    Path directory() {
        return dir;
    }

    /** The case's cached observation, or null. */
    CaseMeasurer.Observation get(EvalCase c) {
        Path f = file(c);
        if (!Files.exists(f)) {
            return null;
        }
        try {
            CaseMeasurer.Observation o = RunDirectory.JSON.readValue(f.toFile(), CaseMeasurer.Observation.class);
            hits.incrementAndGet();
            return o;
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: unreadable cache entry, measured again ({})", f, e.getMessage());
            return null;
        }
    }

    void put(EvalCase c, CaseMeasurer.Observation o) {
        RunDirectory.write(file(c), json(o));
        writes.incrementAndGet();
    }

    int hits() {
        return hits.get();
    }

    int writes() {
        return writes.get();
    }

    private Path file(EvalCase c) {
        return dir.resolve(sha256(json(c)).substring(0, 40) + ".json");
    }

    private static String json(Object o) {
        try {
            return RunDirectory.JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 over the model directory's files other than the weights (tokenizer, configs), by name. */
    private static String filesHash(Path modelDir) {
        try (Stream<Path> files = Files.list(modelDir)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".safetensors") || name.endsWith(".bin") || name.endsWith(".md")) {
                    continue; // the weights are in the fingerprint; a model card does not measure
                }
                md.update((name + "\n").getBytes(StandardCharsets.UTF_8));
                md.update(Files.readAllBytes(f));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot hash " + modelDir + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 over icedit's compiled classes (the directory or jar they are loaded from), computed once. */
    static String codeHash() {
        String h = codeHash;
        if (h != null) {
            return h;
        }
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            Path where = Path.of(BeforeCache.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(where)) {
                List<Path> classes = new ArrayList<>();
                try (Stream<Path> walk = Files.walk(where)) {
                    walk.filter(p -> p.toString().endsWith(".class")).sorted().forEach(classes::add);
                }
                for (Path p : classes) {
                    md.update(where.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
                    try (InputStream in = Files.newInputStream(p)) {
                        md.update(in.readAllBytes());
                    }
                }
            } else {
                try (InputStream in = Files.newInputStream(where)) {
                    md.update(in.readAllBytes());
                }
            }
            h = HexFormat.of().formatHex(md.digest());
        } catch (IOException | URISyntaxException | NoSuchAlgorithmException | RuntimeException e) {
            // without a hash of the code, no entry could be trusted to be this code's: a key nothing else shares
            h = "unhashable-" + System.nanoTime();
            LOG.warn("cannot hash icedit's classes ({}): the pre-edit cache is not reused by this run", e.getMessage());
        }
        codeHash = h;
        return h;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
