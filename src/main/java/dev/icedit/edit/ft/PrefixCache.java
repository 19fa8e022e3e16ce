package dev.icedit.edit.ft;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.FrozenPrefix;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@link FrozenPrefix} per batch of requests of an edit run, at the input of the lowest trained output
 * projection: the baselines' passes go over the same tokens at every step, and only the trained projections
 * change, so everything below the lowest one is computed once.
 */
final class PrefixCache implements AutoCloseable {
    private final int layer;
    private final Map<List<EditRequest>, FrozenPrefix> byBatch = new HashMap<>();

    PrefixCache(int layer) {
        this.layer = layer;
    }

    FrozenPrefix of(List<EditRequest> batch) {
        return byBatch.computeIfAbsent(List.copyOf(batch), b -> FrozenPrefix.atMlpInput(layer));
    }

    @Override
    public void close() {
        byBatch.values().forEach(FrozenPrefix::close);
        byBatch.clear();
    }
}
