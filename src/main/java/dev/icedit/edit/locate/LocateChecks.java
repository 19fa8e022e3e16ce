package dev.icedit.edit.locate;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.util.List;

/** What ROME, MEMIT and AlphaEdit check before any work: requests with their subjects in their prompts, layers that exist. */
public final class LocateChecks {
    private LocateChecks() {}

    /** Throws an IceditException naming the first problem; {@code method} names the editor in messages. */
    public static void check(LanguageModel model, List<EditRequest> requests, List<Integer> layers, Integer vLossLayer,
            String method) {
        if (requests.isEmpty()) {
            throw new IceditException("no edit requests given");
        }
        SubjectLocator.subjects(requests, method);
        for (int layer : layers) {
            MlpProjection.weightName(model, layer, method);
        }
        TargetOptimizer.checkLossLayer(vLossLayer, model, method);
    }
}
