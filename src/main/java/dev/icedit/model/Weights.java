package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import dev.icedit.tensor.IceditException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An immutable view of a model's weights, keyed by Hugging Face parameter names. Editing methods train on an
 * overlay ({@link #with}) that replaces a few tensors and shares the rest, so the model's own weights stay untouched
 * until an edit is installed.
 */
public final class Weights {
    private final Map<String, NDArray> tensors;

    Weights(Map<String, NDArray> tensors) {
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    public NDArray get(String name) {
        NDArray a = tensors.get(name);
        if (a == null) {
            throw new IceditException("model has no parameter named '" + name + "'");
        }
        return a;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public Map<String, NDArray> asMap() {
        return tensors;
    }

    /** A view with some tensors replaced (names must exist) and the others shared. */
    public Weights with(Map<String, NDArray> replacements) {
        Map<String, NDArray> m = new LinkedHashMap<>(tensors);
        for (Map.Entry<String, NDArray> e : replacements.entrySet()) {
            if (!m.containsKey(e.getKey())) {
                throw new IceditException("model has no parameter named '" + e.getKey() + "'");
            }
            m.put(e.getKey(), e.getValue());
        }
        return new Weights(m);
    }
}
