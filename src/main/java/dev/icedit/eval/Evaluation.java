package dev.icedit.eval;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.report.HtmlReport;
import dev.icedit.eval.report.Summary;
import dev.icedit.eval.run.EvalListener;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.eval.run.EvalRunner;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.model.LanguageModel;
import java.nio.file.Path;
import java.util.Map;

/**
 * The KnowEdit evaluation in one call: runs (or resumes) the cases into {@code out}, then writes summary.json and
 * report.html there. See docs/EVALUATION.md for the metrics and files.
 */
public final class Evaluation {
    /** The run's cases and curve, and the summary as written. */
    public record Outcome(EvalRunner.Result result, Map<String, Object> summary) {}

    private Evaluation() {}

    public static Outcome run(LanguageModel model, Dataset data, EvalOptions options, Path out, EvalListener listener) {
        RunDirectory dir = new RunDirectory(out);
        try (RunDirectory.Lock lock = dir.lock()) {
            EvalRunner.Result r = new EvalRunner(model, data, options, dir, listener).run();
            Map<String, Object> summary = Summary.of(r, data, options);
            dir.writeJson(dir.summary(), summary);
            HtmlReport.write(dir, r, summary, data);
            return new Outcome(r, summary);
        }
    }
}
