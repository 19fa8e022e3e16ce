package dev.icedit.eval.metrics;

import java.util.List;
import java.util.Map;

/**
 * The generation protocol's metrics of one case at one moment, as percentages ({@link AnswerMatch}); null where the
 * case has no such prompt. Locality compares the answers generated after the edit with those generated before it
 * (100 when their normalised texts are equal), so it is empty before the edit.
 *
 * @param answers every generated answer (cut at its first newline or sentence end), in the order edit prompt,
 *     rephrase prompt, portability items, locality items
 */
public record GenerationScores(Double editMatch, Double editContains, Double rephraseMatch, Double rephraseContains,
        Map<String, List<Double>> portabilityMatch, Map<String, List<Double>> portabilityContains,
        Map<String, List<Double>> locality, List<String> answers) {

    public GenerationScores {
        portabilityMatch = portabilityMatch == null ? Map.of() : portabilityMatch;
        portabilityContains = portabilityContains == null ? Map.of() : portabilityContains;
        locality = locality == null ? Map.of() : locality;
        answers = answers == null ? List.of() : answers;
    }
}
