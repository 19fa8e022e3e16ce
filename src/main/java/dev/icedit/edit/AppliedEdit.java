package dev.icedit.edit;

import ai.djl.ndarray.NDArray;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An edit installed in a model: its id, what it was, and the weights it replaced, kept as they were so that revert
 * restores them bit for bit.
 */
public record AppliedEdit(String id, String method, Map<String, Object> hyperParameters, List<EditRequest> requests,
        List<String> weightNames, String baseFingerprint, List<Double> lossPerStep, double seconds, Instant appliedAt,
        Map<String, NDArray> originals, Map<String, NDArray> installed) {

    /** Identity: two applications are never the same edit (and NDArray equality would compare contents). */
    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }
}
