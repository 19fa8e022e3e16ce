package dev.icedit.edit.tuning;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.EditRequest;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The loss a constrained fine-tuning run minimises; one instance serves one edit run and may keep state, which
 * {@link #close} releases when the run ends.
 */
public interface Objective extends AutoCloseable {
    /**
     * The loss of one batch of requests at one step: a scalar that depends on the trained weights.
     *
     * @param trainable the model's weights with the trained tensors (gradients attached) in place
     * @param frozen the same values with the trained tensors detached, for passes that need no gradient
     */
    NDArray loss(LanguageModel model, Weights trainable, Weights frozen, List<EditRequest> batch, int step,
            SplittableRandom random);

    /** The most tokens one row of this objective's passes can hold for the request: the prompt and the target. */
    default int longestRow(LanguageModel model, EditRequest request) {
        var t = request.tokens(model.tokenizer());
        return t.prompt().length + t.tokens().length;
    }

    /**
     * Settings this objective takes from the model when the hyper-parameters leave them unset, with the values it
     * uses on this model (ICE: {@code top_k} and {@code top_p} from generation_config.json), by their YAML keys.
     */
    default java.util.Map<String, Object> modelDefaults(LanguageModel model) {
        return java.util.Map.of();
    }

    @Override
    default void close() {}
}
