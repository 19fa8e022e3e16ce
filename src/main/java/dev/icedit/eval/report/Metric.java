package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Aggregate;
import java.util.List;
import java.util.function.Function;

/** A reported metric: its summary key, its label, its unit, how to read it from an aggregate. */
record Metric(String key, String label, String unit, Function<Aggregate, Double> value) {
    static final List<Metric> ALL = List.of(
            new Metric("edit_succ", "Edit Succ.", "%", Aggregate::editSucc),
            new Metric("rephrase", "Rephrase", "%", Aggregate::rephrase),
            new Metric("portability", "Portability", "%", Aggregate::portability),
            new Metric("locality", "Locality", "%", Aggregate::locality),
            new Metric("fluency", "Fluency", "100 x weighted n-gram entropy", Aggregate::fluency),
            new Metric("ppl_r", "PPL_r", "ratio", Aggregate::pplR),
            new Metric("exact_match", "Exact match", "%", Aggregate::exactMatch));
}
