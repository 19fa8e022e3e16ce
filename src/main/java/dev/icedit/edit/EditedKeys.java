package dev.icedit.edit;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the earlier edits of a sequence leave for the later ones besides the weights: for each edited matrix, the
 * keys (its inputs) at which they wrote, kept as the running sum of k k^T (I, I) in float64 (AlphaEdit's
 * {@code cache_c}). Its size does not grow with the number of edits.
 *
 * <p>It belongs to the sequence of edits on one model, not to a method: whoever owns the sequence (a continual
 * evaluation run, a program editing one model again and again) creates it, passes it to
 * {@link Editor#edit(dev.icedit.model.LanguageModel, List, EditProgress, EditedKeys)} and, once an edit is
 * installed, adds what that edit reports ({@link EditResult#editedKeys()}). A method reads it and never changes
 * it, so an edit that is computed but not installed leaves no trace. Methods that keep no such state ignore it.
 *
 * <p>Shapes: n keys of one edit, I key width.
 */
public final class EditedKeys implements AutoCloseable {
    /** Safetensors metadata key marking a file of one edit's keys. */
    public static final String FORMAT = "icedit-edited-keys/1";

    private final Map<String, NDArray> grams = new LinkedHashMap<>();
    private final Map<String, Long> counts = new LinkedHashMap<>();
    private int edits;

    /** Σ k k^T (I, I) float64 over the keys earlier edits wrote at this weight, or null when none did. */
    public NDArray gram(String weight) {
        return grams.get(weight);
    }

    /** How many keys were added for this weight. */
    public long count(String weight) {
        return counts.getOrDefault(weight, 0L);
    }

    /** How many edits were added (including those that reported no keys). */
    public int edits() {
        return edits;
    }

    public boolean isEmpty() {
        return grams.isEmpty();
    }

    /** Adds one installed edit's keys: for each weight, (n, I) rows; the arrays stay the caller's. */
    public void add(Map<String, NDArray> keys) {
        for (Map.Entry<String, NDArray> e : keys.entrySet()) {
            NDArray k = e.getValue();
            NDArray sum;
            try (NDScope scope = new NDScope()) {
                NDArray k64 = k.toType(DataType.FLOAT64, false); // (n, I)
                NDArray kk = k64.transpose().matMul(k64); // (I, I)
                NDArray before = grams.get(e.getKey());
                sum = before == null ? kk : before.add(kk);
                NDScope.unregister(sum);
                if (before != null) {
                    before.close();
                }
            }
            grams.put(e.getKey(), sum);
            counts.merge(e.getKey(), k.getShape().get(0), Long::sum);
        }
        edits++;
    }

    /** Writes one edit's keys (float64, named by weight) to a safetensors file, atomically. */
    public static void write(Path file, Map<String, NDArray> keys) {
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : keys.entrySet()) {
            NDArray k = e.getValue();
            tensors.add(new SafetensorsWriter.Tensor(e.getKey(), DType.F64, k.getShape().getShape(), () -> {
                try (NDArray k64 = k.toType(DataType.FLOAT64, true)) {
                    return k64.toDevice(Device.cpu(), false).toByteBuffer();
                }
            }));
        }
        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        try {
            Files.createDirectories(abs.getParent());
            SafetensorsWriter.write(tmp, tensors, Map.of("format", FORMAT));
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw IceditException.inFile(abs, "cannot write: " + e.getMessage());
        }
    }

    /** Reads a file written by {@link #write}: the keys by weight, (n, I) float64, owned by the caller. */
    public static Map<String, NDArray> read(Path file, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!FORMAT.equals(f.metadata().get("format"))) {
                throw IceditException.inFile(file, "not a file of edited keys (format " + FORMAT + ")");
            }
            for (SafetensorsFile.Entry e : f.entries().values()) {
                String name = e.name();
                if (e.dtype() != DType.F64 || e.shape().length != 2) {
                    throw IceditException.inFile(file, "tensor '" + name + "' is not a float64 matrix of keys");
                }
                NDArray k;
                try (NDScope scope = new NDScope()) {
                    k = manager.create(f.map(e), new Shape(e.shape()), DataType.FLOAT64).duplicate();
                    NDScope.unregister(k);
                }
                out.put(name, k);
            }
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        }
        return out;
    }

    @Override
    public void close() {
        grams.values().forEach(NDArray::close);
        grams.clear();
        counts.clear();
    }
}
