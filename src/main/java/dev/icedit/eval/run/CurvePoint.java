package dev.icedit.eval.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.icedit.eval.metrics.Aggregate;

/**
 * One line of curve.jsonl: the metrics of the probe set after {@code edits} edits of a continual run; the resident
 * memory of the process when they were measured, in MiB; and the seconds the method had spent on those edits. The
 * last two are null in files written before they were recorded.
 */
public record CurvePoint(int edits, Aggregate metrics, @JsonInclude(JsonInclude.Include.NON_NULL) Double residentMib,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double editSeconds) {
    public CurvePoint(int edits, Aggregate metrics) {
        this(edits, metrics, null, null);
    }
}
