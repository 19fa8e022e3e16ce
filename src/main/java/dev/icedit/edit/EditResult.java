package dev.icedit.edit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.icedit.model.Weights;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an edit computed: the new values of the weights it changes (owned by this result until a journal applies
 * them), the loss after each step, and how long it took. {@code baseFingerprint} identifies the values those
 * weights had before, so the edit can only be applied to the model it was computed on. Methods that remember the
 * keys of earlier edits also report the keys this edit wrote ({@link #editedKeys()}, see {@link EditedKeys}).
 */
public final class EditResult implements AutoCloseable {
    private final String method;
    private final Map<String, Object> hyperParameters;
    private final List<EditRequest> requests;
    private final Map<String, NDArray> newWeights;
    private final String baseFingerprint;
    private final List<Double> lossPerStep;
    private final double seconds;
    private final Map<String, NDArray> editedKeys;
    private boolean transferred;

    public EditResult(String method, Map<String, Object> hyperParameters, List<EditRequest> requests,
            Map<String, NDArray> newWeights, String baseFingerprint, List<Double> lossPerStep, double seconds) {
        this(method, hyperParameters, requests, newWeights, baseFingerprint, lossPerStep, seconds, Map.of());
    }

    /** With the keys this edit wrote, by weight name, (n, I) each, owned by this result. */
    public EditResult(String method, Map<String, Object> hyperParameters, List<EditRequest> requests,
            Map<String, NDArray> newWeights, String baseFingerprint, List<Double> lossPerStep, double seconds,
            Map<String, NDArray> editedKeys) {
        this.editedKeys = Collections.unmodifiableMap(new LinkedHashMap<>(editedKeys));
        this.method = method;
        this.hyperParameters = Collections.unmodifiableMap(hyperParameters);
        this.requests = List.copyOf(requests);
        this.newWeights = Collections.unmodifiableMap(newWeights);
        this.baseFingerprint = baseFingerprint;
        this.lossPerStep = List.copyOf(lossPerStep);
        this.seconds = seconds;
    }

    public String method() {
        return method;
    }

    public Map<String, Object> hyperParameters() {
        return hyperParameters;
    }

    public List<EditRequest> requests() {
        return requests;
    }

    /** New values by Hugging Face name, in the model's compute dtype. */
    public Map<String, NDArray> newWeights() {
        return newWeights;
    }

    /**
     * The change the edit makes, θ_E − θ_0, by Hugging Face name, computed against {@code base} (the weights the edit
     * was computed on, e.g. {@code model.currentWeights()} before applying it). The arrays belong to {@code manager}.
     */
    public Map<String, NDArray> deltas(Weights base, NDManager manager) {
        Map<String, NDArray> deltas = new LinkedHashMap<>();
        newWeights.forEach((name, value) -> {
            NDArray delta = value.sub(base.get(name).toType(value.getDataType(), false)); // same shape as the weight
            delta.attach(manager);
            deltas.put(name, delta);
        });
        return deltas;
    }

    public String baseFingerprint() {
        return baseFingerprint;
    }

    public List<Double> lossPerStep() {
        return lossPerStep;
    }

    public double seconds() {
        return seconds;
    }

    /**
     * The keys at which this edit wrote, by weight name, (n, I) float64, computed on the edited weights: what
     * {@link EditedKeys#add} takes once the edit is installed. Empty for methods that keep no such state. They stay
     * this result's, freed by {@link #close()}.
     */
    public Map<String, NDArray> editedKeys() {
        return editedKeys;
    }

    /** Marks the new weights as owned by someone else (a journal that installed them). */
    void transferOwnership() {
        transferred = true;
    }

    @Override
    public void close() {
        if (!transferred) {
            newWeights.values().forEach(NDArray::close);
            transferred = true;
        }
        editedKeys.values().forEach(NDArray::close);
    }
}
