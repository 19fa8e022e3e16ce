package dev.icedit.edit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An applied edit as a file that can be applied to another copy of the same base model and reverted there: a
 * safetensors file holding, for every changed weight, its value before ({@code original.NAME}) and after
 * ({@code edited.NAME}) in float32, with JSON metadata under the header key {@code icedit_patch}: method,
 * hyper-parameters, requests, and fingerprints of the weights before and after.
 */
public final class EditPatch {
    public static final String FORMAT = "icedit-patch/1";
    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    /** What the patch says about itself. */
    public record Metadata(String format, String method, Map<String, Object> hyperParameters,
            List<EditRequest> requests, String modelType, List<String> weights, String baseFingerprint,
            String editedFingerprint, List<Double> lossPerStep, double seconds, String created) {}

    private EditPatch() {}

    /** Writes an applied edit as a patch file (atomically: a temporary file, then a rename). */
    public static void write(Path file, AppliedEdit edit, LanguageModel model) throws IOException {
        Weights edited = model.currentWeights().with(edit.installed());
        Metadata meta = new Metadata(FORMAT, edit.method(), edit.hyperParameters(), edit.requests(),
                model.config().modelType(), edit.weightNames(), edit.baseFingerprint(),
                LanguageModel.fingerprint(edited, edit.weightNames()), edit.lossPerStep(), edit.seconds(),
                edit.appliedAt().toString());
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (String name : edit.weightNames()) {
            tensors.add(tensor("original." + name, edit.originals().get(name)));
            tensors.add(tensor("edited." + name, edit.installed().get(name)));
        }
        Path abs = file.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp-" + System.nanoTime());
        try {
            SafetensorsWriter.write(tmp, tensors, Map.of("format", "pt", "icedit_patch", JSON.writeValueAsString(meta)));
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static SafetensorsWriter.Tensor tensor(String name, NDArray value) {
        return new SafetensorsWriter.Tensor(name, DType.F32, value.getShape().getShape(), () -> {
            try (NDArray f = value.toType(DataType.FLOAT32, true)) {
                return f.toDevice(ai.djl.Device.cpu(), false).toByteBuffer();
            }
        });
    }

    /** Reads a patch's metadata. */
    public static Metadata metadata(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return metadata(f);
        }
    }

    private static Metadata metadata(SafetensorsFile f) {
        String json = f.metadata().get("icedit_patch");
        if (json == null) {
            throw IceditException.inFile(f.path(), "not an icedit patch (no icedit_patch metadata)");
        }
        try {
            Metadata m = JSON.readValue(json, Metadata.class);
            if (m == null || !FORMAT.equals(m.format())) {
                throw IceditException.inFile(f.path(), "unsupported patch format '" + (m == null ? null : m.format())
                        + "'");
            }
            requireFields(f.path(), m);
            return m;
        } catch (IOException e) {
            throw IceditException.inFile(f.path(), "bad patch metadata: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException p ? p.getOriginalMessage()
                            : e.getMessage()));
        }
    }

    /** The fields applying and reverting read; a missing one would otherwise fail later without naming the file. */
    private static void requireFields(Path file, Metadata m) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("method", m.method());
        fields.put("hyperParameters", m.hyperParameters());
        fields.put("requests", m.requests());
        fields.put("modelType", m.modelType());
        fields.put("weights", m.weights());
        fields.put("baseFingerprint", m.baseFingerprint());
        fields.put("editedFingerprint", m.editedFingerprint());
        fields.put("lossPerStep", m.lossPerStep());
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            Object v = e.getValue();
            if (v == null || v instanceof List<?> l && l.stream().anyMatch(java.util.Objects::isNull)) {
                throw IceditException.inFile(file, "bad patch metadata: '" + e.getKey() + "' is missing or null");
            }
        }
    }

    /**
     * Applies a patch through a journal: refused unless the model's weights are exactly those the patch was made
     * from. Returns the applied edit (revertable like any other).
     */
    public static AppliedEdit apply(Path file, EditJournal journal) {
        LanguageModel model = journal.model();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Metadata meta = metadata(f);
            checkModel(f.path(), meta, model);
            Map<String, NDArray> edited = read(f, "edited.", meta.weights(), model);
            String current = LanguageModel.fingerprint(model.currentWeights(), meta.weights());
            if (!current.equals(meta.baseFingerprint())) {
                edited.values().forEach(NDArray::close);
                throw IceditException.inFile(f.path(), "patch was made for different base weights: the model's "
                        + String.join(", ", meta.weights()) + " do not match the patch's originals");
            }
            EditResult result = new EditResult(meta.method(), meta.hyperParameters(), meta.requests(), edited,
                    meta.baseFingerprint(), meta.lossPerStep(), meta.seconds());
            return journal.apply(result);
        }
    }

    /**
     * Reverts a patch on a model that has it applied (loaded from a saved directory, say): refused unless the
     * weights are exactly the patch's edited ones; restores the originals bit for bit.
     */
    public static void revert(Path file, LanguageModel model) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Metadata meta = metadata(f);
            checkModel(f.path(), meta, model);
            String current = LanguageModel.fingerprint(model.currentWeights(), meta.weights());
            if (!current.equals(meta.editedFingerprint())) {
                throw IceditException.inFile(f.path(), "the model does not have this patch applied (its weights "
                        + String.join(", ", meta.weights()) + " differ from the patch's edited values)");
            }
            // the replaced tensors stay with their owner (the model, when it was loaded with the patch applied)
            model.install(read(f, "original.", meta.weights(), model));
        }
    }

    private static void checkModel(Path file, Metadata meta, LanguageModel model) {
        if (!meta.modelType().equals(model.config().modelType())) {
            throw IceditException.inFile(file, "patch is for a " + meta.modelType() + " model, not "
                    + model.config().modelType());
        }
        for (String n : meta.weights()) {
            if (!model.currentWeights().contains(n)) {
                throw IceditException.inFile(file, "patch changes '" + n + "', which this model does not have");
            }
        }
    }

    private static Map<String, NDArray> read(SafetensorsFile f, String prefix, List<String> names, LanguageModel model) {
        NDManager manager = model.manager();
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String n : names) {
            SafetensorsFile.Entry e = f.entry(prefix + n);
            if (e == null || e.dtype() != DType.F32) {
                throw IceditException.inFile(f.path(), "patch lacks float32 tensor '" + prefix + n + "'");
            }
            NDArray current = model.currentWeights().get(n);
            if (!current.getShape().equals(new Shape(e.shape()))) {
                throw IceditException.inFile(f.path(), "tensor '" + prefix + n + "' has shape " + new Shape(e.shape())
                        + " but the model's is " + current.getShape());
            }
            ByteBuffer copy = ByteBuffer.allocateDirect((int) e.byteSize()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            copy.put(f.map(e)).flip();
            NDArray a = manager.create(copy, new Shape(e.shape()), DataType.FLOAT32);
            if (current.getDataType() != DataType.FLOAT32) {
                NDArray c = a.toType(current.getDataType(), true);
                a.close();
                a = c;
            }
            ai.djl.ndarray.NDScope.unregister(a);
            out.put(n, a);
        }
        return out;
    }
}
