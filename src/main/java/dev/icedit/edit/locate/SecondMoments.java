package dev.icedit.edit.locate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.edit.EditProgress;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.HostArrays;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uncentred second moment C = E[k k^T] of the key k (the input of the MLP's output projection, width I) of a
 * layer, over the tokens of a text corpus, as ROME and MEMIT use it. Computed once per model, layer, corpus, sample
 * count and dtype, from the model's weights as loaded (edits not included), and cached as safetensors:
 *
 * <pre>
 *   STATS_DIR/FINGERPRINT/layer{L}.mlp_in.{DATASET}.n{SAMPLES}.{DTYPE}.t{WINDOW}.safetensors   tensor "mom2" (I, I) F64
 * </pre>
 *
 * While it runs, the float64 sum of k k^T, the token count and the samples done are saved every minute (and when the
 * run is cancelled) next to it with the suffix {@code .partial}; a later run resumes from there. Several layers
 * missing at once are computed in one pass over the corpus, which stops at the deepest of them.
 *
 * <p>Shapes: W windows per batch, T window length, I key width.
 */
public final class SecondMoments {
    private static final Logger LOG = LoggerFactory.getLogger(SecondMoments.class);
    public static final String FORMAT = "icedit-mom2/1";
    /** The longest window of a sample, in tokens (less where the model's context is shorter). */
    public static final int WINDOW_TOKENS = 256;
    /** Tokens per forward pass. */
    static final int BATCH_TOKENS = 2048;
    /** How often a running computation saves its partial sums; tests shorten it. */
    static volatile Duration checkpointEvery = Duration.ofSeconds(60);
    private static final Duration LOG_EVERY = Duration.ofSeconds(30);

    /**
     * One layer's statistics: C (I, I) float64 on the model's device, owned by this object; the tokens and samples
     * it rests on; the seconds its computation took (in total, over resumed runs); whether this call read it from
     * the cache; and its file.
     */
    public record Stats(int layer, NDArray moment, long tokens, long samples, double seconds, boolean fromCache,
            Path file) implements AutoCloseable {
        /** The facts worth reporting, for results and patches. */
        public Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("layer", layer);
            m.put("tokens", tokens);
            m.put("samples", samples);
            m.put("seconds", Math.round(seconds * 10) / 10.0);
            m.put("cached", fromCache);
            m.put("file", file.toString());
            return m;
        }

        @Override
        public void close() {
            moment.close();
        }
    }

    private SecondMoments() {}

    /** The window length for a model: {@link #WINDOW_TOKENS}, or its context if shorter. */
    public static int windowTokens(LanguageModel model) {
        return Math.min(WINDOW_TOKENS, model.config().maxPositions());
    }

    /** The cache file of one layer's statistics. */
    public static Path file(LanguageModel model, int layer, Mom2Settings s) {
        return s.cacheDir().resolve(model.fingerprint()).resolve("layer" + layer + ".mlp_in." + s.datasetKey() + ".n"
                + s.nSamples() + "." + s.dtype() + ".t" + windowTokens(model) + ".safetensors");
    }

    /**
     * The statistics of each layer, read from the cache or computed (and cached); the caller closes them. They are
     * computed from the weights as loaded, which installs never replace, so no lease is needed (and none should be
     * held for the minutes a computation can take); the model must stay open.
     */
    public static Map<Integer, Stats> get(LanguageModel model, Collection<Integer> layers, Mom2Settings s,
            EditProgress progress) {
        Map<Integer, Stats> out = new LinkedHashMap<>();
        List<Integer> missing = new ArrayList<>();
        try {
            for (int layer : new TreeSet<>(layers)) {
                Path f = file(model, layer, s);
                if (Files.exists(f)) {
                    out.put(layer, read(model, layer, f));
                } else {
                    missing.add(layer);
                }
            }
            if (!missing.isEmpty()) {
                out.putAll(compute(model, missing, s, progress));
            }
            return out;
        } catch (RuntimeException e) {
            out.values().forEach(Stats::close);
            throw e;
        }
    }

    private static Stats read(LanguageModel model, int layer, Path f) {
        int width = model.config().intermediateSize();
        try (SafetensorsFile file = SafetensorsFile.open(f)) {
            Map<String, String> meta = file.metadata();
            SafetensorsFile.Entry e = file.entry("mom2");
            if (!FORMAT.equals(meta.get("format")) || e == null || e.dtype() != DType.F64
                    || e.shape().length != 2 || e.shape()[0] != width || e.shape()[1] != width) {
                throw IceditException.inFile(f, "not a second-moment statistics file for this model (expected format "
                        + FORMAT + " with an F64 'mom2' of shape [" + width + ", " + width + "]); delete it to recompute");
            }
            NDArray moment = load(model.manager(), file, e);
            return new Stats(layer, moment, Long.parseLong(meta.get("tokens")), Long.parseLong(meta.get("samples")),
                    Double.parseDouble(meta.get("seconds")), true, f);
        } catch (NumberFormatException ex) {
            throw IceditException.inFile(f, "bad metadata in statistics file: " + ex.getMessage());
        }
    }

    /** A copy of a stored tensor (the file's memory map is not kept). */
    private static NDArray load(NDManager manager, SafetensorsFile file, SafetensorsFile.Entry e) {
        NDArray copy;
        try (NDScope scope = new NDScope()) {
            NDArray raw = manager.create(file.map(e), new Shape(e.shape()), e.dtype().djl());
            copy = raw.duplicate();
            NDScope.unregister(copy);
        }
        return copy;
    }

    /** One layer's running sums. */
    private static final class Running {
        final int layer;
        final Path file;
        final Path partial;
        NDArray sum; // (I, I) float64
        long tokens;
        long samples;
        double seconds;

        Running(int layer, Path file) {
            this.layer = layer;
            this.file = file;
            this.partial = file.resolveSibling(file.getFileName() + ".partial");
        }
    }

    private static Map<Integer, Stats> compute(LanguageModel model, List<Integer> layers, Mom2Settings s,
            EditProgress progress) {
        int width = model.config().intermediateSize();
        int window = windowTokens(model);
        int perBatch = Math.max(1, BATCH_TOKENS / window);
        List<Running> runs = new ArrayList<>();
        Map<Integer, Stats> done = new LinkedHashMap<>();
        try {
            for (int layer : layers) {
                Running r = new Running(layer, file(model, layer, s));
                resume(model, r, s, perBatch, window);
                runs.add(r);
            }
            TextCorpus corpus = TextCorpus.open(s.corpusPath());
            long start = runs.stream().mapToLong(r -> r.samples).min().orElse(0);
            String task = "covariance statistics, layer" + (layers.size() > 1 ? "s " : " ")
                    + String.join(", ", layers.stream().map(String::valueOf).toList());
            LOG.info("{}: {} samples of up to {} tokens from {} ({} resumed)", task, s.nSamples(), window,
                    corpus.root(), start);
            Weights base = model.originalWeights();
            long t0 = System.nanoTime();
            Instant lastSave = Instant.now();
            Instant lastLog = Instant.now();
            long at = 0;
            try (CorpusWindows windows = new CorpusWindows(corpus, model.tokenizer(), window, s.nSamples())) {
                for (; at < start; at++) {
                    if (windows.next() == null) {
                        break;
                    }
                }
                progress.work(task, at, s.nSamples());
                while (at < s.nSamples()) {
                    List<long[]> batch = new ArrayList<>();
                    while (batch.size() < perBatch && at + batch.size() < s.nSamples()) {
                        long[] w = windows.next();
                        if (w == null) {
                            break;
                        }
                        batch.add(w);
                    }
                    if (batch.isEmpty()) {
                        LOG.warn("{}: the corpus {} has only {} windows of {} tokens; using them all instead of {}",
                                task, corpus.root(), at, window, s.nSamples());
                        break;
                    }
                    long batchStart = at;
                    List<Running> active = runs.stream().filter(r -> r.samples == batchStart).toList();
                    accumulate(model, base, batch, active, s.dtype(), width);
                    at += batch.size();
                    double elapsed = (System.nanoTime() - t0) / 1e9;
                    progress.work(task, at, s.nSamples());
                    if (Duration.between(lastLog, Instant.now()).compareTo(LOG_EVERY) >= 0) {
                        LOG.info("{}: {}/{} samples, {} s", task, at, s.nSamples(), Math.round(elapsed));
                        lastLog = Instant.now();
                    }
                    boolean cancelled = progress.cancelled();
                    if (cancelled || Duration.between(lastSave, Instant.now()).compareTo(checkpointEvery) >= 0) {
                        for (Running r : runs) {
                            savePartial(model, r, s, perBatch, window, elapsed);
                        }
                        lastSave = Instant.now();
                    }
                    if (cancelled) {
                        throw new IceditException("cancelled while computing " + task + " after " + at + " of "
                                + s.nSamples() + " samples; the partial sums are saved and a rerun resumes from there");
                    }
                }
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            for (Running r : runs) {
                if (r.tokens == 0) {
                    throw new IceditException("the corpus " + corpus.root() + " gave no tokens for the statistics");
                }
                r.seconds += elapsed;
                NDArray moment = r.sum.div(r.tokens); // (I, I)
                NDScope.unregister(moment);
                writeFinal(model, r, moment, s, window);
                Files.deleteIfExists(r.partial);
                LOG.info("{}: layer {} done: {} tokens in {} s, cached in {}", task, r.layer, r.tokens,
                        Math.round(r.seconds), r.file);
                done.put(r.layer, new Stats(r.layer, moment, r.tokens, r.samples, r.seconds, false, r.file));
            }
            return done;
        } catch (IOException e) {
            done.values().forEach(Stats::close);
            throw new IceditException("cannot write covariance statistics under " + s.cacheDir() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            done.values().forEach(Stats::close);
            throw e;
        } finally {
            runs.forEach(r -> {
                if (r.sum != null) {
                    r.sum.close();
                }
            });
        }
    }

    /** Adds one batch of windows to the sums of the given layers, in one forward pass. */
    private static void accumulate(LanguageModel model, Weights w, List<long[]> windows, List<Running> active,
            String dtype, int width) {
        if (active.isEmpty()) {
            return;
        }
        DataType precision = dtype.equals("float64") ? DataType.FLOAT64 : DataType.FLOAT32;
        TokenBatch batch = TokenBatch.leftPadded(windows, model.tokenizer().padTokenId());
        int t = batch.length();
        float[] mask = new float[windows.size() * t];
        long tokens = 0;
        for (int b = 0; b < windows.size(); b++) {
            for (int i = batch.padding(b); i < t; i++) {
                mask[b * t + i] = 1f;
            }
            tokens += batch.realLength(b);
        }
        ActivationSite deepest = ActivationReader.deepest(active.stream().map(r -> ActivationSite.mlpIn(r.layer)).toList());
        try (NDScope scope = new NDScope()) {
            NDArray maskArr = HostArrays.of(model.manager(), mask, new Shape(windows.size(), t, 1)); // (W, T, 1)
            Hooks hooks = Hooks.NONE;
            for (Running r : active) {
                ActivationSite site = ActivationSite.mlpIn(r.layer);
                hooks = hooks.and(site, (st, x) -> {
                    NDArray k = x.mul(maskArr.toType(x.getDataType(), false)).reshape(-1, width)
                            .toType(precision, false); // (W*T, I), padding zeroed
                    NDArray kk = k.transpose().matMul(k); // (I, I)
                    r.sum.addi(kk.getDataType() == DataType.FLOAT64 ? kk : kk.toType(DataType.FLOAT64, false));
                    if (st.equals(deepest)) {
                        throw new ActivationReader.StopPass();
                    }
                    return x;
                });
            }
            try {
                model.hidden(w, batch, null, hooks);
            } catch (ActivationReader.StopPass expected) {
                // the deepest layer has been read
            }
        }
        for (Running r : active) {
            r.tokens += tokens;
            r.samples += windows.size();
        }
    }

    /** Loads a layer's partial sums if they match this computation; otherwise starts from zero. */
    private static void resume(LanguageModel model, Running r, Mom2Settings s, int perBatch, int window) {
        int width = model.config().intermediateSize();
        if (Files.exists(r.partial)) {
            try (SafetensorsFile f = SafetensorsFile.open(r.partial)) {
                Map<String, String> meta = f.metadata();
                SafetensorsFile.Entry e = f.entry("sum");
                if (FORMAT.equals(meta.get("format")) && e != null && e.dtype() == DType.F64
                        && e.shape()[0] == width && String.valueOf(perBatch).equals(meta.get("batch_windows"))
                        && String.valueOf(window).equals(meta.get("window_tokens"))) {
                    r.sum = load(model.manager(), f, e);
                    r.tokens = Long.parseLong(meta.get("tokens"));
                    r.samples = Long.parseLong(meta.get("samples"));
                    r.seconds = Double.parseDouble(meta.get("seconds"));
                    LOG.info("layer {}: resuming covariance statistics from {} samples ({})", r.layer, r.samples,
                            r.partial);
                    return;
                }
                LOG.warn("{} does not match this computation; starting over", r.partial);
            } catch (RuntimeException e) {
                LOG.warn("cannot resume from {} ({}); starting over", r.partial, e.getMessage());
            }
        }
        try (NDScope scope = new NDScope()) {
            r.sum = model.manager().zeros(new Shape(width, width), DataType.FLOAT64); // (I, I)
            NDScope.unregister(r.sum);
        }
    }

    private static void savePartial(LanguageModel model, Running r, Mom2Settings s, int perBatch, int window,
            double elapsed) {
        Map<String, String> meta = metadata(model, r, s, window);
        meta.put("batch_windows", String.valueOf(perBatch));
        meta.put("seconds", String.valueOf(r.seconds + elapsed));
        try {
            writeAtomically(r.partial, "sum", r.sum, meta);
        } catch (IOException e) {
            throw new IceditException("cannot save partial statistics to " + r.partial + ": " + e.getMessage());
        }
    }

    private static void writeFinal(LanguageModel model, Running r, NDArray moment, Mom2Settings s, int window)
            throws IOException {
        writeAtomically(r.file, "mom2", moment, metadata(model, r, s, window));
    }

    private static Map<String, String> metadata(LanguageModel model, Running r, Mom2Settings s, int window) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("fingerprint", model.fingerprint());
        meta.put("layer", String.valueOf(r.layer));
        meta.put("site", "mlp_in");
        meta.put("mom2_dataset", s.dataset());
        meta.put("mom2_n_samples", String.valueOf(s.nSamples()));
        meta.put("mom2_dtype", s.dtype());
        meta.put("window_tokens", String.valueOf(window));
        meta.put("samples", String.valueOf(r.samples));
        meta.put("tokens", String.valueOf(r.tokens));
        meta.put("seconds", String.valueOf(r.seconds));
        meta.put("created", Instant.now().toString());
        return meta;
    }

    private static void writeAtomically(Path file, String name, NDArray value, Map<String, String> meta)
            throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp-" + System.nanoTime());
        try {
            SafetensorsWriter.write(tmp, List.of(new SafetensorsWriter.Tensor(name, DType.F64,
                    value.getShape().getShape(), () -> value.toDevice(Device.cpu(), false).toByteBuffer())), meta);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
