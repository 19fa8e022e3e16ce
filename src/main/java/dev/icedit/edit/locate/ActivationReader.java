package dev.icedit.edit.locate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.edit.locate.SubjectLocator.Located;
import dev.icedit.model.ActivationHook;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.tensor.HostArrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads activations at one position of each row (the subject's token) in one forward pass. The pass stops after
 * the deepest site it has to read: the layers above it would cost time and change nothing read.
 *
 * <p>Shapes: N rows, B = N, T padded length, D the site's width (C or I).
 */
public final class ActivationReader {
    /** Thrown from a hook to end a forward pass early; carries no stack trace. */
    static final class StopPass extends RuntimeException {
        StopPass() {
            super("forward pass stopped after the last site read", null, false, false);
        }
    }

    private static final StopPass STOP = new StopPass();

    private ActivationReader() {}

    /** The activation (N, D), float32, at each site; arrays belong to the caller's NDScope. */
    public static Map<ActivationSite, NDArray> read(LanguageModel model, Weights w, List<Located> rows,
            Collection<ActivationSite> sites) {
        TokenBatch batch = TokenBatch.leftPadded(rows.stream().map(Located::ids).toList(),
                model.tokenizer().padTokenId());
        int t = batch.length();
        long[] flat = new long[rows.size()];
        for (int b = 0; b < rows.size(); b++) {
            flat[b] = (long) b * t + batch.padding(b) + rows.get(b).position();
        }
        ActivationSite deepest = deepest(sites);
        Map<ActivationSite, NDArray> out = new LinkedHashMap<>();
        try (NDScope scope = new NDScope()) {
            NDArray index = HostArrays.of(model.manager(), flat, new Shape(flat.length)); // (N)
            Hooks hooks = Hooks.NONE;
            for (ActivationSite site : sites) {
                ActivationHook hook = (s, x) -> {
                    long d = x.getShape().get(2);
                    NDArray picked = x.reshape(-1, d).get(new NDIndex("{}", index)); // (N, D)
                    if (picked.getDataType() != DataType.FLOAT32) {
                        picked = picked.toType(DataType.FLOAT32, false);
                    }
                    NDScope.unregister(picked);
                    out.put(s, picked);
                    if (s.equals(deepest)) {
                        throw STOP;
                    }
                    return x;
                };
                hooks = hooks.and(site, hook);
            }
            try {
                model.hidden(w, batch, null, hooks);
            } catch (StopPass expected) {
                // every site has been read
            }
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        }
        out.values().forEach(NDScope::register);
        return out;
    }

    /** One site's activation (N, D). */
    public static NDArray read(LanguageModel model, Weights w, List<Located> rows, ActivationSite site) {
        return read(model, w, rows, List.of(site)).get(site);
    }

    /** The site a forward pass reaches last: by layer, then by kind in the order of the pass. */
    static ActivationSite deepest(Collection<ActivationSite> sites) {
        return sites.stream().max(Comparator.comparingInt(ActivationSite::layer)
                .thenComparing(s -> s.kind().ordinal())).orElseThrow();
    }
}
