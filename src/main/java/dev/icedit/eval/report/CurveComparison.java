package dev.icedit.eval.report;

import dev.icedit.eval.run.CurvePoint;
import dev.icedit.eval.run.SavedRun;
import dev.icedit.tensor.IceditException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Charts comparing continual runs (the curve.jsonl of each run directory): one chart per metric, one line per run,
 * labelled with the run's method, or with its directory name where two runs share a method.
 */
public final class CurveComparison {
    private CurveComparison() {}

    /** PNG bytes by metric key (edit_succ, rephrase, ...); metrics no run measured are left out. */
    public static Map<String, byte[]> charts(List<Path> runs) {
        if (runs.isEmpty()) {
            throw new IceditException("no run directories to plot");
        }
        List<String> methods = new ArrayList<>();
        List<List<CurvePoint>> curves = new ArrayList<>();
        for (Path run : runs) {
            SavedRun saved = SavedRun.read(run);
            if (saved.curve().isEmpty()) {
                throw IceditException.inFile(run, "has no curve: only continual runs (--mode continual) measure one");
            }
            methods.add(saved.method());
            curves.add(saved.curve());
        }
        Map<String, byte[]> charts = new LinkedHashMap<>();
        for (Metric m : Metric.ALL) {
            byte[] png = Charts.png(m.label() + " on the probe set", m.unit(),
                    lines(runs, methods, curves, p -> m.value().apply(p.metrics())));
            if (png != null) {
                charts.put(m.key(), png);
            }
        }
        byte[] memory = Charts.png("Resident memory of the run", "MiB",
                lines(runs, methods, curves, CurvePoint::residentMib));
        if (memory != null) {
            charts.put("resident_memory", memory);
        }
        return charts;
    }

    /** One line per run, labelled with its method (and its directory where two runs share a method). */
    private static Map<String, Charts.Series> lines(List<Path> runs, List<String> methods, List<List<CurvePoint>> curves,
            java.util.function.Function<CurvePoint, Double> value) {
        Map<String, Charts.Series> lines = new LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) {
            String label = methods.get(i);
            if (methods.indexOf(label) != methods.lastIndexOf(label)) {
                label = label + " (" + runs.get(i).toAbsolutePath().normalize().getFileName() + ")";
            }
            List<CurvePoint> curve = curves.get(i);
            lines.put(label, new Charts.Series(curve.stream().map(CurvePoint::edits).toList(),
                    curve.stream().map(value).toList()));
        }
        return lines;
    }
}
