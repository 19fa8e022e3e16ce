package dev.icedit.eval.report;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.MetricTable;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.eval.run.EvalRunner;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * summary.json: the run's headline numbers (after the edits), under exactly {@link #KEYS}. The flat metric keys
 * ({@code edit_succ} ... {@code exact_match}) are the teacher-forced values, as before intervals were added (null
 * when the run measured only the generation protocol); {@code metrics} holds every metric of every protocol the run
 * measured, by protocol, each with its case and item counts, its 95% bootstrap interval and its value before the
 * edits.
 */
public final class Summary {
    public static final List<String> KEYS = List.of("method", "dataset", "mode", "schedule", "model", "cases",
            "skipped", "edit_succ", "rephrase", "portability", "portability_by_type", "locality", "locality_by_type",
            "fluency", "ppl_r", "exact_match", "seconds_per_edit", "seed", "boundary_merges", "protocol", "intervals",
            "metrics");

    private Summary() {}

    public static Map<String, Object> of(EvalRunner.Result r, Dataset data, EvalOptions opts) {
        Aggregate after = r.after();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("method", r.method());
        s.put("dataset", data.layout().displayName());
        s.put("mode", opts.mode().label());
        s.put("schedule", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.schedule().label() : null);
        s.put("model", r.settings().get("model"));
        s.put("cases", r.cases().size());
        s.put("skipped", data.skipped().size());
        Map<String, Object> metrics = after.asMap();
        s.putAll(metrics);
        s.put("seconds_per_edit", Aggregate.mean(r.editSeconds()));
        s.put("seed", r.seed());
        // (prompt, answer) pairs whose joint encoding merges across the prompt's end (see CaseRecord)
        s.put("boundary_merges", r.cases().stream().mapToInt(CaseRecord::boundaryMerges).sum());
        s.put("protocol", opts.protocol().label());
        s.put("intervals", intervals(opts.resamples(), r.seed()));
        s.put("metrics", metrics(r.cases(), opts.protocol(), opts.resamples(), r.seed()));
        if (!s.keySet().equals(new java.util.LinkedHashSet<>(KEYS))) {
            throw new IllegalStateException("summary keys out of step: " + s.keySet());
        }
        return s;
    }

    /** How the intervals were computed. */
    public static Map<String, Object> intervals(int resamples, long seed) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("level", Bootstrap.LEVEL);
        m.put("method", "percentile bootstrap over cases");
        m.put("resamples", resamples);
        m.put("seed", seed);
        return m;
    }

    /**
     * {protocol: {metric: {value, cases, items, ci95: [low, high], before: {...}}}} for the cases' post values (and
     * their pre values under "before", where the metric has one).
     */
    public static Map<String, Object> metrics(List<CaseRecord> cases, Protocol protocol, int resamples, long seed) {
        List<Measurement> post = cases.stream().map(CaseRecord::post).toList();
        List<Measurement> pre = cases.stream().map(CaseRecord::pre).toList();
        Map<Protocol, Map<String, Estimate>> after = MetricTable.estimates(protocol, post, resamples, seed);
        Map<Protocol, Map<String, Estimate>> before = MetricTable.estimates(protocol, pre, resamples, seed);
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<Protocol, Map<String, Estimate>> p : after.entrySet()) {
            Map<String, Object> byName = new LinkedHashMap<>();
            p.getValue().forEach((name, e) -> {
                Map<String, Object> m = estimate(e);
                Estimate b = before.get(p.getKey()).get(name);
                if (b != null) {
                    m.put("before", estimate(b));
                }
                byName.put(name, m);
            });
            out.put(p.getKey().label(), byName);
        }
        return out;
    }

    static Map<String, Object> estimate(Estimate e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("value", e.value());
        m.put("cases", e.cases());
        m.put("items", e.items());
        m.put("ci95", List.of(e.interval().low(), e.interval().high()));
        return m;
    }
}
