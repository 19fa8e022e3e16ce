package dev.icedit.edit.locate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.locate.SubjectLocator.Located;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * The key k* of a fact at a layer (compute_ks): the input of the layer's MLP output projection at the subject's
 * token, averaged over the prompt with each context prefix. With several groups of prefixes (MEMIT) it is the mean
 * of the groups' means; ROME passes all prefixes as one group.
 *
 * <p>Shapes: N facts, P rows of one fact, I key width.
 */
public final class Keys {
    /** Rows per forward pass, to bound memory with many facts. */
    static final int ROWS_PER_PASS = 64;

    private Keys() {}

    /** k* of each fact (N, I), float64, in the caller's scope. */
    public static NDArray compute(LanguageModel model, Weights w, List<EditRequest> requests, List<String> subjects,
            List<List<String>> groups, int layer, FactToken factToken) {
        List<Located> rows = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            for (List<String> group : groups) {
                for (String prefix : group) {
                    rows.add(SubjectLocator.locate(model.tokenizer(), prefix, requests.get(i).prompt(),
                            subjects.get(i), factToken));
                }
            }
        }
        NDArray all = read(model, w, rows, ActivationSite.mlpIn(layer)).toType(DataType.FLOAT64, false); // (N*P, I)
        List<NDArray> keys = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < requests.size(); i++) {
            List<NDArray> means = new ArrayList<>();
            for (List<String> group : groups) {
                means.add(all.get(at + ":" + (at + group.size())).mean(new int[] {0})); // (I)
                at += group.size();
            }
            keys.add(NDArrays.stack(new NDList(means)).mean(new int[] {0})); // (I)
        }
        return NDArrays.stack(new NDList(keys)); // (N, I)
    }

    /** The activation at each row's position (rows, D), float32, read in passes of at most {@link #ROWS_PER_PASS}. */
    public static NDArray read(LanguageModel model, Weights w, List<Located> rows, ActivationSite site) {
        List<NDArray> parts = new ArrayList<>();
        for (int i = 0; i < rows.size(); i += ROWS_PER_PASS) {
            parts.add(ActivationReader.read(model, w, rows.subList(i, Math.min(rows.size(), i + ROWS_PER_PASS)), site));
        }
        if (parts.size() == 1) {
            return parts.get(0);
        }
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = NDArrays.concat(new NDList(parts), 0);
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }
}
