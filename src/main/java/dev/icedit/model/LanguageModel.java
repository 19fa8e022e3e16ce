package dev.icedit.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.model.config.Gpt2Config;
import dev.icedit.model.config.LlamaConfig;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.model.config.SamplingDefaults;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.BFloat16;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.StoredTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A causal language model loaded from a Hugging Face directory: config, tokenizer, weights by their Hugging Face
 * names, and the forward pass of its architecture.
 *
 * <p>Weights are read through memory maps; on the CPU a tensor whose disk dtype is the compute dtype aliases the
 * mapped file instead of being copied, so loading holds one copy of the weights. Weights are therefore never
 * modified in place: an edit installs new tensors with {@link #install}, which waits until no forward pass is
 * running, so a pass never sees half-applied weights. Forward passes hold a {@link Lease} for their duration.
 */
public final class LanguageModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LanguageModel.class);

    private final Path directory;
    private final ModelConfig config;
    private final Transformer transformer;
    private final NDManager manager;
    private final DataType computeType;
    private final WeightFiles files;
    private final Map<String, String> diskNames;
    private final Map<String, NDArray> loaded;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock(true);
    private volatile Weights weights;
    private Tokenizer tokenizer;
    private SamplingDefaults samplingDefaults;
    private boolean chatTemplate;
    private String fingerprint;
    private Options options;

    /**
     * Load settings: where to compute, in which dtype, and whether every prompt is wrapped as a user turn of the
     * model's chat template (see {@link Tokenizer#encodePrompt}).
     */
    public record Options(Device device, DType computeDType, boolean chatTemplate) {
        public Options(Device device, DType computeDType) {
            this(device, computeDType, false);
        }

        public static Options defaults() {
            return new Options(Backend.defaultDevice(), DType.F32);
        }

        public Options withChatTemplate(boolean on) {
            return new Options(device, computeDType, on);
        }
    }

    private LanguageModel(Path directory, ModelConfig config, NDManager manager, DataType computeType,
            WeightFiles files, Map<String, String> diskNames, Map<String, NDArray> loaded) {
        this.directory = directory;
        this.config = config;
        this.manager = manager;
        this.computeType = computeType;
        this.files = files;
        this.diskNames = diskNames;
        this.loaded = loaded;
        this.weights = new Weights(new LinkedHashMap<>(loaded));
        this.transformer = config instanceof Gpt2Config g ? new Gpt2(g) : new Llama((LlamaConfig) config, computeType, manager);
    }

    public static LanguageModel load(Path directory) {
        return load(directory, Options.defaults());
    }

    public static LanguageModel load(Path directory, Options options) {
        Path dir = directory.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw IceditException.inFile(dir, "not a model directory"
                    + (Files.exists(dir) ? " (it is a file)" : " (it does not exist)"));
        }
        if (!options.computeDType().isFloating()) {
            throw new IceditException("compute dtype must be floating point, not " + options.computeDType());
        }
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        WeightFiles files = WeightFiles.open(dir);
        if (config.numLayers() > files.weightMap.size()) {
            // every layer has tensors; without this a config of 10^9 layers would list their names before failing
            files.close();
            throw IceditException.inFile(dir.resolve("config.json"), "the config has " + config.numLayers()
                    + " layers but the weights hold only " + files.weightMap.size() + " tensors");
        }
        NDManager manager = Backend.newManager(options.device());
        try {
            Map<String, String> diskNames = resolveNames(dir, config, files);
            Map<String, NDArray> loaded = new LinkedHashMap<>();
            Map<String, long[]> shapes = config.parameterShapes();
            for (Map.Entry<String, String> e : diskNames.entrySet()) {
                SafetensorsFile f = files.fileOf(e.getValue());
                SafetensorsFile.Entry entry = f.entry(e.getValue());
                long[] expected = shapes.get(e.getKey());
                if (!Arrays.equals(expected, entry.shape())) {
                    throw IceditException.inFile(f.path(), "tensor '" + e.getValue() + "' has shape "
                            + Arrays.toString(entry.shape()) + " but config.json implies " + Arrays.toString(expected));
                }
                if (!entry.dtype().isFloating()) {
                    throw IceditException.inFile(f.path(), "tensor '" + e.getValue() + "' has dtype " + entry.dtype()
                            + "; weights must be F32, F16 or BF16");
                }
                loaded.put(e.getKey(), readTensor(manager, f, entry, options.computeDType().djl()));
            }
            LanguageModel model = new LanguageModel(dir, config, manager, options.computeDType().djl(), files,
                    diskNames, loaded);
            model.options = options;
            if (options.chatTemplate()) {
                model.chatTemplate = true;
                model.tokenizer(); // a missing or unrenderable template fails now, not at the first prompt
            }
            return model;
        } catch (RuntimeException e) {
            manager.close();
            files.close();
            throw e;
        }
    }

    /** Maps each parameter to its name on disk; checkpoints of a base model may lack the "transformer." prefix. */
    private static Map<String, String> resolveNames(Path dir, ModelConfig config, WeightFiles files) {
        Map<String, String> names = new LinkedHashMap<>();
        for (String name : config.parameterShapes().keySet()) {
            String disk = null;
            if (files.weightMap.containsKey(name)) {
                disk = name;
            } else {
                int dot = name.indexOf('.');
                String stripped = name.substring(dot + 1);
                if ((name.startsWith("transformer.") || name.startsWith("model.")) && files.weightMap.containsKey(stripped)) {
                    disk = stripped;
                }
            }
            if (disk == null) {
                String where = files.sharded ? WeightFiles.INDEX : WeightFiles.SINGLE;
                throw IceditException.inFile(dir.resolve(where), "missing tensor '" + name + "' required by config.json ("
                        + config.modelType() + ", " + config.numLayers() + " layers)");
            }
            names.put(name, disk);
        }
        for (String disk : files.weightMap.keySet()) {
            if (!names.containsValue(disk) && !config.isIgnoredBuffer(disk)
                    && !(config.tieWordEmbeddings() && disk.equals("lm_head.weight"))) {
                LOG.warn("{}: tensor '{}' is not used by the {} architecture; it is kept as it is on save",
                        dir, disk, config.modelType());
            }
        }
        return names;
    }

    private static NDArray readTensor(NDManager manager, SafetensorsFile f, SafetensorsFile.Entry e, DataType compute) {
        ByteBuffer bytes = f.map(e);
        DType diskType = e.dtype();
        if (diskType == DType.BF16) {
            bytes = BFloat16.toFloat32(bytes);
            diskType = DType.F32;
        }
        boolean aligned = (e.begin() % diskType.bytes()) == 0 || e.dtype() == DType.BF16;
        if (!aligned || !manager.getDevice().equals(Device.cpu())) {
            ByteBuffer copy = ByteBuffer.allocateDirect(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            copy.put(bytes.duplicate()).flip();
            bytes = copy;
        }
        NDArray raw = manager.create(bytes, new Shape(e.shape()), diskType.djl());
        NDArray onDevice = raw;
        if (!raw.getDevice().equals(manager.getDevice())) {
            onDevice = raw.toDevice(manager.getDevice(), true);
        }
        NDArray result = onDevice.getDataType() == compute ? onDevice : onDevice.toType(compute, true);
        if (result != raw) {
            raw.close();
        }
        if (onDevice != raw && onDevice != result) {
            onDevice.close();
        }
        NDScope.unregister(result);
        return result;
    }

    public Path directory() {
        return directory;
    }

    /** The options it was loaded with: {@code load(directory(), options())} loads another copy of it. */
    public Options options() {
        return options;
    }

    public ModelConfig config() {
        return config;
    }

    public DataType computeType() {
        return computeType;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The manager that owns the weights; arrays made from it live until the model is closed. */
    public NDManager manager() {
        return manager;
    }

    /** The tokenizer, loaded on first use; a directory without tokenizer.json can still run on token ids. */
    public synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = Tokenizer.load(directory, config, chatTemplate);
        }
        return tokenizer;
    }

    /** The top-k and top-p of generation_config.json (transformers' defaults where it names none), read on first use. */
    public synchronized SamplingDefaults samplingDefaults() {
        if (samplingDefaults == null) {
            samplingDefaults = SamplingDefaults.read(directory);
        }
        return samplingDefaults;
    }

    /** Total number of weight elements. */
    public long parameterCount() {
        long n = 0;
        for (long[] s : config.parameterShapes().values()) {
            n += Arrays.stream(s).reduce(1, (a, b) -> a * b);
        }
        return n;
    }

    /** Dtype of each weight on disk, by Hugging Face name. */
    public Map<String, DType> diskDTypes() {
        Map<String, DType> m = new LinkedHashMap<>();
        diskNames.forEach((name, disk) -> m.put(name, diskDType(name)));
        return m;
    }

    /** The dtype a weight is stored in on disk (and will be saved in). */
    public DType diskDType(String name) {
        String disk = diskNames.get(name);
        if (disk == null) {
            throw new IceditException("model has no parameter named '" + name + "'");
        }
        return files.fileOf(disk).entry(disk).dtype();
    }

    /** The bytes a value of weight {@code name} has once saved: in the weight's disk dtype, rounded as PyTorch rounds. */
    public ByteBuffer storedBytes(String name, NDArray value) {
        return StoredTensor.encode(value, diskDType(name));
    }

    /** Read access to the current weights for the duration of a forward pass or a generation. */
    public final class Lease implements AutoCloseable {
        private final Weights snapshot;

        private Lease() {
            lock.readLock().lock();
            snapshot = weights;
        }

        public Weights weights() {
            return snapshot;
        }

        @Override
        public void close() {
            lock.readLock().unlock();
        }
    }

    public Lease lease() {
        return new Lease();
    }

    /**
     * Runs the layers over a batch and returns final hidden states (B, T, C), registered in the caller's NDScope if
     * there is one. The caller holds a {@link Lease} when {@code w} is (a view of) the model's weights.
     */
    public NDArray hidden(Weights w, TokenBatch batch, KvCache cache, Hooks hooks) {
        return hidden(w, batch, cache, hooks, null);
    }

    /**
     * As {@link #hidden(Weights, TokenBatch, KvCache, Hooks)}, starting from the activations {@code prefix} kept
     * from an earlier pass over the same batch, or keeping them in it for the next ones (see {@link FrozenPrefix}).
     */
    public NDArray hidden(Weights w, TokenBatch batch, KvCache cache, Hooks hooks, FrozenPrefix prefix) {
        if (prefix != null) {
            if (cache != null) {
                throw new IllegalArgumentException("a FrozenPrefix and a KvCache cannot serve the same pass");
            }
            prefix.check(batch);
        }
        int past = cache == null ? 0 : cache.length();
        if (past + batch.length() > config.maxPositions()) {
            throw new IceditException("sequence of " + (past + batch.length()) + " tokens is longer than the model's "
                    + config.maxPositions() + "-token context window");
        }
        long[] flat = batch.flatIds();
        for (long id : flat) {
            if (id < 0 || id >= config.vocabSize()) {
                throw IceditException.inFile(directory.resolve("config.json"), "token id " + id
                        + " is outside the model's vocabulary (vocab_size " + config.vocabSize() + ")");
            }
        }
        int[][] fullMask = cache == null ? batch.mask() : cache.extendMask(batch.mask());
        NDArray out;
        try (NDScope scope = new NDScope()) {
            NDArray ids = dev.icedit.tensor.HostArrays.of(manager, flat, new Shape(batch.rows(), batch.length())); // (B, T)
            AttentionContext ctx = AttentionContext.build(manager, fullMask, batch.length(), computeType);
            out = transformer.hidden(w, ids, ctx, cache, hooks == null ? Hooks.NONE : hooks, prefix);
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }

    /** Next-token logits (B, T, V) from hidden states (B, T, C). */
    public NDArray logits(Weights w, NDArray hidden) {
        return transformer.logits(w, hidden);
    }

    /** Logits for every position of every row (B, T, V) under the current weights. */
    public NDArray logits(TokenBatch batch) {
        try (Lease lease = lease()) {
            NDArray out;
            try (NDScope scope = new NDScope()) {
                out = logits(lease.weights(), hidden(lease.weights(), batch, null, Hooks.NONE));
                NDScope.unregister(out);
            }
            NDScope.register(out);
            return out;
        }
    }

    /** The weights as installed now. Hold a {@link Lease} to use them in a forward pass. */
    public Weights currentWeights() {
        return weights;
    }

    /**
     * Replaces some weights (same names, shapes and dtype) once no forward pass is running, and returns the tensors
     * they replace. The caller owns the returned tensors: keep them to restore later, or close them.
     */
    public Map<String, NDArray> install(Map<String, NDArray> replacements) {
        for (Map.Entry<String, NDArray> e : replacements.entrySet()) {
            NDArray cur = weights.get(e.getKey());
            if (!cur.getShape().equals(e.getValue().getShape()) || cur.getDataType() != e.getValue().getDataType()) {
                throw new IceditException("cannot install '" + e.getKey() + "': shape/dtype " + e.getValue().getShape()
                        + "/" + e.getValue().getDataType() + " differs from " + cur.getShape() + "/" + cur.getDataType());
            }
        }
        lock.writeLock().lock();
        try {
            Map<String, NDArray> old = new LinkedHashMap<>();
            for (String name : replacements.keySet()) {
                old.put(name, weights.get(name));
            }
            weights = weights.with(replacements);
            return old;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The weights as loaded from disk, without the edits installed since: the base model. */
    public Weights originalWeights() {
        return new Weights(new LinkedHashMap<>(loaded));
    }

    /** Whether a weight differs (as an object) from what was loaded from disk. */
    public boolean isModified(String name) {
        return weights.get(name) != loaded.get(name);
    }

    /** Hugging Face names of the weights that differ from what was loaded. */
    public List<String> modifiedWeights() {
        return weights.names().stream().filter(this::isModified).toList();
    }

    /**
     * Writes the model, edits included, as a Hugging Face directory (see {@link ModelWriter}): into a new or empty
     * directory, or over a model directory icedit wrote; any other non-empty directory is refused. A failed file
     * operation is reported as an {@link IceditException} that names the target and says what was in the way.
     */
    public void save(Path target) throws IOException {
        save(target, false);
    }

    /**
     * As {@link #save(Path)}; with {@code overwrite}, a non-empty directory icedit did not write is accepted too.
     * Either way only the model's own files in it are replaced and every other file is kept (see {@link SaveTarget}).
     */
    public void save(Path target, boolean overwrite) throws IOException {
        try (Lease lease = lease()) {
            ModelWriter.write(this, lease.weights(), target, overwrite);
        } catch (IOException e) {
            throw IceditException.io(target, "cannot save the model", e);
        }
    }

    WeightFiles files() {
        return files;
    }

    Map<String, String> diskNames() {
        return Collections.unmodifiableMap(diskNames);
    }

    NDArray loaded(String name) {
        return loaded.get(name);
    }

    /**
     * SHA-256 over every weight as stored on disk (name, dtype, shape, bytes): identifies the base model, for caches
     * and patches. Computed once.
     */
    public synchronized String fingerprint() {
        if (fingerprint == null) {
            try {
                java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
                for (Map.Entry<String, String> e : diskNames.entrySet()) {
                    SafetensorsFile f = files.fileOf(e.getValue());
                    SafetensorsFile.Entry entry = f.entry(e.getValue());
                    md.update((e.getKey() + "|" + entry.dtype() + "|" + Arrays.toString(entry.shape()) + "\n")
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    md.update(f.map(entry));
                }
                fingerprint = HexFormat.of().formatHex(md.digest());
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return fingerprint;
    }

    /** SHA-256 over the given weights' current values (name, shape, float32 bytes), in the given order. */
    public static String fingerprint(Weights w, Collection<String> names) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (String name : names) {
                NDArray a = w.get(name);
                md.update((name + "|" + a.getShape() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                try (NDArray f = a.toType(DataType.FLOAT32, true)) {
                    md.update(f.toByteBuffer());
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (tokenizer != null) {
                tokenizer.close();
            }
            manager.close();
            files.close();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
