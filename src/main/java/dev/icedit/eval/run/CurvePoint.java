package dev.icedit.eval.run;

import dev.icedit.eval.metrics.Aggregate;

/** One line of curve.jsonl: the metrics of the probe set after {@code edits} edits of a continual run. */
public record CurvePoint(int edits, Aggregate metrics) {}
