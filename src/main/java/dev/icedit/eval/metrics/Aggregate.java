package dev.icedit.eval.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Metrics over many cases: each is the mean over the cases that have it; portability and locality totals average
 * the case means over the cases that have items, and their per-type values pool the items of that type over all
 * cases. A metric no case has is null.
 */
public record Aggregate(int cases, Double editSucc, Double rephrase, Double portability,
        Map<String, Double> portabilityByType, Double locality, Map<String, Double> localityByType, Double fluency,
        Double pplR, Double exactMatch) {

    public static Aggregate of(List<Measurement> ms) {
        return new Aggregate(ms.size(), meanOf(ms, Measurement::editSucc), meanOf(ms, Measurement::rephrase),
                meanOf(ms, Measurement::portability), byType(ms, Measurement::portabilityItems),
                meanOf(ms, Measurement::locality), byType(ms, Measurement::localityItems),
                meanOf(ms, Measurement::fluency), meanOf(ms, Measurement::pplR), meanOf(ms, Measurement::exactMatch));
    }

    private static Double meanOf(List<Measurement> ms, Function<Measurement, Double> metric) {
        return mean(ms.stream().map(metric).filter(Objects::nonNull).toList());
    }

    private static Map<String, Double> byType(List<Measurement> ms, Function<Measurement, Map<String, List<Double>>> items) {
        Map<String, List<Double>> pooled = new TreeMap<>();
        for (Measurement m : ms) {
            items.apply(m).forEach((type, scores) -> pooled.computeIfAbsent(type, t -> new ArrayList<>()).addAll(scores));
        }
        if (pooled.isEmpty()) {
            return null;
        }
        Map<String, Double> out = new LinkedHashMap<>();
        pooled.forEach((type, scores) -> out.put(type, mean(scores)));
        return out;
    }

    /** The arithmetic mean, or null for no values. */
    public static Double mean(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s / values.size();
    }

    /** Metric name (as in summary.json) -> value, for reports and curves. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("edit_succ", editSucc);
        m.put("rephrase", rephrase);
        m.put("portability", portability);
        m.put("portability_by_type", portabilityByType);
        m.put("locality", locality);
        m.put("locality_by_type", localityByType);
        m.put("fluency", fluency);
        m.put("ppl_r", pplR);
        m.put("exact_match", exactMatch);
        return m;
    }
}
