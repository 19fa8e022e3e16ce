package dev.icedit.edit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.SaveTarget;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import dev.icedit.tensor.StoredTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An applied edit as a file that can be applied to another copy of the same base model and reverted there: a
 * safetensors file holding, for every changed weight, its value before ({@code original.NAME}) and after
 * ({@code edited.NAME}), stored as the model stores that weight on disk (its dtype: BF16 for a BF16 checkpoint),
 * with JSON metadata under the header key {@code icedit_patch} (method, hyper-parameters, requests, the SHA-256
 * of every tensor with its name, dtype and shape) and the SHA-256 of that metadata text under
 * {@code icedit_patch_sha256}.
 *
 * <p>Every read checks the whole file: the metadata against its hash, every tensor against the hash the metadata
 * gives it, and every value for being finite. So a changed tensor, a changed header entry or a hand-edited request
 * is refused with one line. The hashes detect changes, not forgery: anyone can recompute them.
 *
 * <p>A patch is compared with a model as the model stores its weights ({@link LanguageModel#storedBytes}), so
 * apply, save, revert is bit-exact for F32, F16 and BF16 checkpoints alike.
 */
public final class EditPatch {
    public static final String FORMAT = "icedit-patch/2";
    static final String METADATA_KEY = "icedit_patch";
    static final String INTEGRITY_KEY = "icedit_patch_sha256";
    private static final String FORMAT_1 = "icedit-patch/1";
    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private static final Set<DType> VALUE_TYPES = Set.of(DType.F32, DType.F16, DType.BF16);

    /** The dtype a patch holds its values in. */
    public enum Values {
        /** each weight as the model stores it on disk: what a saved model holds (the default) */
        STORED,
        /** the model's compute dtype: the exact in-memory values, e.g. to resume an evaluation */
        COMPUTED
    }

    /** What the patch says about itself; {@code sha256} maps each tensor's name to its hash. */
    public record Metadata(String format, String method, Map<String, Object> hyperParameters,
            List<EditRequest> requests, String modelType, List<String> weights, Map<String, String> sha256,
            List<Double> lossPerStep, double seconds, String created) {}

    private EditPatch() {}

    /** Writes an applied edit as a patch in the model's dtypes; refuses to replace a file that is not a patch. */
    public static void write(Path file, AppliedEdit edit, LanguageModel model) throws IOException {
        write(file, edit, model, Values.STORED, false);
    }

    /**
     * Writes an applied edit as a patch file, atomically (a temporary sibling, then a rename). An existing patch is
     * replaced; any other existing file only with {@code overwrite}; a directory never.
     */
    public static void write(Path file, AppliedEdit edit, LanguageModel model, Values values, boolean overwrite)
            throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        refuseToReplace(abs, overwrite);
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        Map<String, String> sha = new LinkedHashMap<>();
        for (String name : edit.weightNames()) {
            DType dtype = values == Values.STORED ? model.diskDType(name) : DType.of(model.computeType());
            long[] shape = edit.installed().get(name).getShape().getShape();
            ByteBuffer edited = StoredTensor.encode(edit.installed().get(name), dtype);
            if (!StoredTensor.allFinite(edited, dtype)) {
                throw new IceditException("the edit's new value of '" + name + "' holds NaN or infinite values;"
                        + " no patch was written");
            }
            ByteBuffer original = StoredTensor.encode(edit.originals().get(name), dtype);
            for (Map.Entry<String, ByteBuffer> t : Map.of("original." + name, original, "edited." + name, edited)
                    .entrySet()) {
                sha.put(t.getKey(), tensorHash(t.getKey(), dtype, shape, t.getValue()));
            }
            tensors.add(new SafetensorsWriter.Tensor("original." + name, dtype, shape, () -> original));
            tensors.add(new SafetensorsWriter.Tensor("edited." + name, dtype, shape, () -> edited));
        }
        Map<String, String> ordered = new LinkedHashMap<>();
        for (SafetensorsWriter.Tensor t : tensors) {
            ordered.put(t.name(), sha.get(t.name()));
        }
        Metadata meta = new Metadata(FORMAT, edit.method(), edit.hyperParameters(), edit.requests(),
                model.config().modelType(), edit.weightNames(), ordered, edit.lossPerStep(), edit.seconds(),
                edit.appliedAt().toString());
        String json = JSON.writeValueAsString(meta);
        Map<String, String> header = new LinkedHashMap<>();
        header.put("format", "pt");
        header.put(METADATA_KEY, json);
        header.put(INTEGRITY_KEY, sha256(json.getBytes(StandardCharsets.UTF_8)));
        Files.createDirectories(abs.getParent());
        SaveTarget.removeStaleTemporaries(abs);
        Path tmp = SaveTarget.temporary(abs, "tmp");
        try {
            SafetensorsWriter.write(tmp, tensors, header);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
            SaveTarget.release(tmp);
        }
    }

    /**
     * Refuses, with one line naming the file, a place a patch may not be written: a directory, or an existing file
     * that is not a patch unless {@code overwrite}.
     */
    public static void refuseToReplace(Path file, boolean overwrite) {
        if (Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
            throw IceditException.inFile(file, "is a directory; a patch is written as one file");
        }
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !overwrite && !isPatch(file)) {
            throw IceditException.inFile(file, "exists and is not an icedit patch; refusing to replace it"
                    + " (--overwrite replaces it)");
        }
    }

    /** Whether a file is a patch icedit wrote (of any format version), judged by its header. */
    public static boolean isPatch(Path file) {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata().containsKey(METADATA_KEY);
        } catch (RuntimeException notSafetensors) {
            return false;
        }
    }

    /** Reads a patch's metadata, after checking the whole file (see the class comment). */
    public static Metadata metadata(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return check(f);
        }
    }

    /**
     * Applies a patch through a journal: refused unless the model stores exactly the patch's original values for
     * every weight it changes. Returns the applied edit (revertable like any other).
     */
    public static AppliedEdit apply(Path file, EditJournal journal) {
        LanguageModel model = journal.model();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Metadata meta = check(f);
            checkFits(f, meta, model);
            for (String n : meta.weights()) {
                if (!asStoredIn(model, n, f, "original." + n).equals(model.storedBytes(n, model.currentWeights().get(n)))) {
                    throw IceditException.inFile(f.path(), "patch was made for different base weights: the model's '"
                            + n + "' is not the patch's original value");
                }
            }
            Map<String, NDArray> edited = read(f, "edited.", meta.weights(), model);
            EditResult result = new EditResult(meta.method(), meta.hyperParameters(), meta.requests(), edited,
                    LanguageModel.fingerprint(model.currentWeights(), meta.weights()), meta.lossPerStep(),
                    meta.seconds());
            try {
                return journal.apply(result);
            } catch (RuntimeException e) {
                result.close();
                throw e;
            }
        }
    }

    /**
     * Reverts a patch on a model that has it applied (loaded from a saved directory, say): refused unless the model
     * stores exactly the patch's edited values; restores the originals bit for bit.
     */
    public static void revert(Path file, LanguageModel model) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Metadata meta = check(f);
            checkFits(f, meta, model);
            for (String n : meta.weights()) {
                if (!asStoredIn(model, n, f, "edited." + n).equals(model.storedBytes(n, model.currentWeights().get(n)))) {
                    throw IceditException.inFile(f.path(), "the model does not have this patch applied (its '" + n
                            + "' differs from the patch's edited value)");
                }
            }
            // the replaced tensors stay with their owner (the model, when it was loaded with the patch applied)
            model.install(read(f, "original.", meta.weights(), model));
        }
    }

    /** Checks the metadata against its hash and every tensor against its own; returns the metadata. */
    private static Metadata check(SafetensorsFile f) {
        Path path = f.path();
        String json = f.metadata().get(METADATA_KEY);
        if (json == null) {
            throw IceditException.inFile(path, "not an icedit patch (no " + METADATA_KEY + " metadata)");
        }
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw IceditException.inFile(path, "bad patch metadata: " + oneLine(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw IceditException.inFile(path, "bad patch metadata: not a JSON object");
        }
        JsonNode formatNode = node.get("format");
        String format = formatNode != null && formatNode.isTextual() ? formatNode.asText() : null;
        if (FORMAT_1.equals(format)) {
            throw IceditException.inFile(path, "is a patch in format " + FORMAT_1 + " (float32 copies, no integrity"
                    + " hash), which this icedit no longer reads; make the patch again (this version writes " + FORMAT
                    + ")");
        }
        if (!FORMAT.equals(format)) {
            throw IceditException.inFile(path, "unsupported patch format " + (format == null ? "(none given)"
                    : "'" + oneLine(format) + "'") + "; this icedit reads " + FORMAT);
        }
        String integrity = f.metadata().get(INTEGRITY_KEY);
        if (integrity == null) {
            throw IceditException.inFile(path, "patch has no integrity hash (" + INTEGRITY_KEY + "); refusing it");
        }
        if (!integrity.equals(sha256(json.getBytes(StandardCharsets.UTF_8)))) {
            throw IceditException.inFile(path, "patch metadata was changed after it was written (its "
                    + INTEGRITY_KEY + " does not match); refusing it");
        }
        Metadata m;
        try {
            m = JSON.treeToValue(node, Metadata.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            Throwable cause = e.getCause();
            throw IceditException.inFile(path, "bad patch metadata: " + (cause instanceof IceditException bad
                    ? bad.getMessage() : e instanceof JsonProcessingException p ? oneLine(p.getOriginalMessage())
                    : oneLine(e.getMessage())));
        }
        requireFields(path, m);
        Set<String> listed = new LinkedHashSet<>();
        for (String w : m.weights()) {
            listed.add("original." + w);
            listed.add("edited." + w);
        }
        if (!m.sha256().keySet().equals(listed)) {
            throw IceditException.inFile(path, "bad patch metadata: 'sha256' must name exactly original.NAME and"
                    + " edited.NAME for each of its weights");
        }
        for (String t : f.entries().keySet()) {
            if (!listed.contains(t)) {
                throw IceditException.inFile(path, "holds tensor '" + oneLine(t) + "', which its metadata does not list");
            }
        }
        for (String w : m.weights()) {
            SafetensorsFile.Entry o = f.entry("original." + w);
            SafetensorsFile.Entry e = f.entry("edited." + w);
            if (o == null || e == null) {
                throw IceditException.inFile(path, "lacks tensor '" + (o == null ? "original." : "edited.")
                        + oneLine(w) + "'");
            }
            if (!VALUE_TYPES.contains(o.dtype())) {
                throw IceditException.inFile(path, "tensor '" + oneLine(o.name()) + "' has dtype " + o.dtype()
                        + "; patch values are F32, F16 or BF16");
            }
            if (o.dtype() != e.dtype() || !Arrays.equals(o.shape(), e.shape())) {
                throw IceditException.inFile(path, "tensors '" + oneLine(o.name()) + "' and '" + oneLine(e.name())
                        + "' differ in dtype or shape");
            }
            for (SafetensorsFile.Entry t : List.of(o, e)) {
                ByteBuffer bytes = f.map(t);
                if (!tensorHash(t.name(), t.dtype(), t.shape(), bytes).equals(m.sha256().get(t.name()))) {
                    throw IceditException.inFile(path, "tensor '" + oneLine(t.name()) + "' does not match its SHA-256"
                            + " in the patch metadata (the file was changed or is damaged)");
                }
                if (!StoredTensor.allFinite(bytes, t.dtype())) {
                    throw IceditException.inFile(path, "tensor '" + oneLine(t.name()) + "' holds NaN or infinite"
                            + " values");
                }
            }
        }
        return m;
    }

    private static void requireFields(Path file, Metadata m) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("method", m.method());
        fields.put("hyperParameters", m.hyperParameters());
        fields.put("requests", m.requests());
        fields.put("modelType", m.modelType());
        fields.put("weights", m.weights());
        fields.put("sha256", m.sha256());
        fields.put("lossPerStep", m.lossPerStep());
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            Object v = e.getValue();
            if (v == null || v instanceof List<?> l && l.stream().anyMatch(Objects::isNull)
                    || v == m.sha256() && m.sha256().values().stream().anyMatch(Objects::isNull)) {
                throw IceditException.inFile(file, "bad patch metadata: '" + e.getKey() + "' is missing or null");
            }
        }
        if (m.weights().isEmpty() || m.requests().isEmpty()) {
            throw IceditException.inFile(file, "bad patch metadata: it names no " + (m.weights().isEmpty()
                    ? "weights" : "requests"));
        }
        if (new HashSet<>(m.weights()).size() != m.weights().size()) {
            throw IceditException.inFile(file, "bad patch metadata: a weight is listed twice");
        }
    }

    private static void checkFits(SafetensorsFile f, Metadata meta, LanguageModel model) {
        if (!meta.modelType().equals(model.config().modelType())) {
            throw IceditException.inFile(f.path(), "patch is for a " + oneLine(meta.modelType()) + " model, not "
                    + model.config().modelType());
        }
        for (String n : meta.weights()) {
            if (!model.currentWeights().contains(n)) {
                throw IceditException.inFile(f.path(), "patch changes '" + oneLine(n) + "', which this model does not"
                        + " have");
            }
            Shape shape = new Shape(f.entry("original." + n).shape());
            Shape expected = model.currentWeights().get(n).getShape();
            if (!shape.equals(expected)) {
                throw IceditException.inFile(f.path(), "tensor 'original." + n + "' has shape " + shape
                        + " but the model's is " + expected);
            }
        }
    }

    /** A patch tensor's value as the model would store weight {@code weight}. */
    private static ByteBuffer asStoredIn(LanguageModel model, String weight, SafetensorsFile f, String tensor) {
        SafetensorsFile.Entry e = f.entry(tensor);
        ByteBuffer raw = f.map(e);
        if (e.dtype() == model.diskDType(weight)) {
            return raw;
        }
        try (NDArray a = StoredTensor.decode(model.manager(), raw, e.dtype(), new Shape(e.shape()), DataType.FLOAT32)) {
            return model.storedBytes(weight, a);
        }
    }

    /** The tensors {@code prefix + name} as new arrays in the model's compute dtype, owned by the caller. */
    private static Map<String, NDArray> read(SafetensorsFile f, String prefix, List<String> names, LanguageModel model) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try {
            for (String n : names) {
                SafetensorsFile.Entry e = f.entry(prefix + n);
                NDArray a = StoredTensor.decode(model.manager(), f.map(e), e.dtype(), new Shape(e.shape()),
                        model.computeType());
                NDScope.unregister(a);
                out.put(n, a);
            }
            return out;
        } catch (RuntimeException ex) {
            out.values().forEach(NDArray::close);
            throw ex;
        }
    }

    static String tensorHash(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        MessageDigest md = digest();
        md.update((name + "|" + dtype + "|" + Arrays.toString(shape) + "\n").getBytes(StandardCharsets.UTF_8));
        md.update(bytes.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Text from the file, safe to quote in a one-line message. */
    private static String oneLine(String s) {
        if (s == null) {
            return "null";
        }
        String flat = s.replaceAll("[\\p{Cntrl}\u2028\u2029]+", " ").strip();
        return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
    }
}
