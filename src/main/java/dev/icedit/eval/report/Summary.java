package dev.icedit.eval.report;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.eval.run.EvalRunner;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** summary.json: the run's headline numbers (after the edits), under exactly {@link #KEYS}. */
public final class Summary {
    public static final List<String> KEYS = List.of("method", "dataset", "mode", "schedule", "model", "cases",
            "skipped", "edit_succ", "rephrase", "portability", "portability_by_type", "locality", "locality_by_type",
            "fluency", "ppl_r", "exact_match", "seconds_per_edit", "seed", "boundary_merges");

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
        if (!s.keySet().equals(new java.util.LinkedHashSet<>(KEYS))) {
            throw new IllegalStateException("summary keys out of step: " + s.keySet());
        }
        return s;
    }
}
