package dev.icedit.eval.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The metrics of one case at one moment (before or after the edit), as percentages except fluency (its own scale)
 * and PPL_r (a ratio). A metric the case has no data for is null.
 *
 * @param editSucc token accuracy of target_new after the prompt
 * @param rephrase token accuracy of target_new after the rephrased prompt
 * @param portability mean over the case's portability items
 * @param portabilityItems each portability item's token accuracy, by type, in dataset order
 * @param locality mean over the case's locality items (null before the edit: locality compares with it)
 * @param localityItems each locality item's argmax agreement with the unedited model, by type
 * @param fluency 100 * weighted n-gram entropy of prompt + sampled continuation
 * @param pplR perplexity ratio of the sampled continuation to target_new, both under the unedited model
 * @param exactMatch 100 when the greedy continuation starts with target_new, else 0
 * @param greedy the greedy continuation used for exact match
 * @param generated the sampled continuation used for fluency and PPL_r
 * @param generation the generation protocol's scores (null when the run did not measure it)
 */
public record Measurement(Double editSucc, Double rephrase, Double portability,
        Map<String, List<Double>> portabilityItems, Double locality, Map<String, List<Double>> localityItems,
        Double fluency, Double pplR, Double exactMatch, String greedy, String generated,
        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        GenerationScores generation) {

    /** A measurement of the teacher-forced protocol alone. */
    public Measurement(Double editSucc, Double rephrase, Double portability, Map<String, List<Double>> portabilityItems,
            Double locality, Map<String, List<Double>> localityItems, Double fluency, Double pplR, Double exactMatch,
            String greedy, String generated) {
        this(editSucc, rephrase, portability, portabilityItems, locality, localityItems, fluency, pplR, exactMatch,
                greedy, generated, null);
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    public Measurement {
        portabilityItems = portabilityItems == null ? Map.of() : copy(portabilityItems);
        localityItems = localityItems == null ? Map.of() : copy(localityItems);
    }

    /** This measurement with the generation protocol's scores. */
    public Measurement withGeneration(GenerationScores g) {
        return new Measurement(editSucc, rephrase, portability, portabilityItems, locality, localityItems, fluency, pplR,
                exactMatch, greedy, generated, g);
    }

    private static Map<String, List<Double>> copy(Map<String, List<Double>> m) {
        Map<String, List<Double>> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** The mean over every item of every type, or null without items. */
    public static Double meanOfItems(Map<String, List<Double>> items) {
        return Aggregate.mean(items.values().stream().flatMap(List::stream).toList());
    }
}
