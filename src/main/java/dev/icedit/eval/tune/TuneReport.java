package dev.icedit.eval.tune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.edit.HyperParams;
import dev.icedit.eval.data.TunedOn;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * What a search leaves behind: the candidates as a table (tune.md, and in tune.json with everything else), a chart
 * of Edit Success and Locality against the clamp (tune.png), and the chosen setting as a YAML preset whose comment
 * says how it was found and which records tuned_on names.
 */
public final class TuneReport {
    private TuneReport() {}

    /** The candidates as a Markdown table. */
    public static String table(Tuner.Result r) {
        List<String> keys = new ArrayList<>();
        for (Tuner.Candidate c : r.candidates()) {
            for (String k : c.settings().keySet()) {
                if (!keys.contains(k)) {
                    keys.add(k);
                }
            }
        }
        StringBuilder sb = new StringBuilder("| # | stage | change | " + String.join(" | ", keys)
                + " | Edit Succ. | Locality | minutes | passed |\n|---|---|---|");
        sb.append("---|".repeat(keys.size())).append("---|---|---|---|\n");
        for (Tuner.Candidate c : r.candidates()) {
            sb.append("| ").append(c.number()).append(" | ").append(c.stage()).append(" | ").append(c.change());
            for (String k : keys) {
                Object v = c.settings().get(k);
                sb.append(" | ").append(v instanceof Double d ? Tuner.fmt(d) : v == null ? "" : v);
            }
            sb.append(" | ").append(pct(c.editSucc())).append(" | ").append(pct(c.locality()))
                    .append(String.format(Locale.ROOT, " | %.1f | ", c.minutes()))
                    .append(c.passed() ? "yes" : c.error() != null ? "no (" + c.error().replace('|', '/') + ")" : "no")
                    .append(r.chosen() != null && r.chosen().number() == c.number() ? " (chosen)" : "").append(" |\n");
        }
        return sb.toString();
    }

    private static String pct(Double v) {
        return v == null ? "n/a" : String.format(Locale.ROOT, "%.1f", v);
    }

    /** Edit Success and Locality of every candidate against its clamp (log scale), with the targets as lines. */
    public static byte[] chart(Tuner.Result r) {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        XYChart chart = new XYChartBuilder().width(640).height(380).title("icedit tune: " + r.method())
                .xAxisTitle(r.clampKey() + " (log scale)").yAxisTitle("%").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0).setChartBackgroundColor(java.awt.Color.WHITE);
        List<Double> x = new ArrayList<>();
        List<Double> es = new ArrayList<>();
        List<Double> lx = new ArrayList<>();
        List<Double> loc = new ArrayList<>();
        for (Tuner.Candidate c : r.candidates()) {
            if (c.editSucc() != null) {
                x.add(c.clamp());
                es.add(c.editSucc());
            }
            if (c.locality() != null) {
                lx.add(c.clamp());
                loc.add(c.locality());
            }
        }
        if (x.isEmpty()) {
            return null;
        }
        chart.addSeries("Edit Succ.", x, es).setMarker(SeriesMarkers.CIRCLE);
        if (!lx.isEmpty()) {
            chart.addSeries("Locality", lx, loc).setMarker(SeriesMarkers.DIAMOND);
        }
        double lo = x.stream().mapToDouble(Double::doubleValue).min().orElse(1) / 1.2;
        double hi = x.stream().mapToDouble(Double::doubleValue).max().orElse(1) * 1.2;
        line(chart, "Edit Succ. target", lo, hi, r.options().targetEditSucc());
        line(chart, "Locality minimum", lo, hi, r.options().minLocality());
        if (r.chosen() != null && r.chosen().editSucc() != null) {
            chart.addSeries("chosen", List.of(r.chosen().clamp()), List.of(r.chosen().editSucc()))
                    .setMarker(SeriesMarkers.SQUARE);
        }
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void line(XYChart chart, String name, double from, double to, double y) {
        XYSeries s = chart.addSeries(name, List.of(from, to), List.of(y, y));
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** The chosen setting as YAML: a comment saying how it was found (with the table), then tuned_on. */
    public static String preset(Tuner.Result r, LanguageModel model) {
        Tuner.Candidate c = r.chosen();
        TuneOptions o = r.options();
        List<String> files = r.tunedOn().entries().stream().map(TunedOn.Entry::data).toList();
        StringBuilder comment = new StringBuilder();
        comment.append(r.method()).append(" preset for the model in ").append(model.directory()).append(" (weights ")
                .append(model.fingerprint(), 0, 12).append("...), found by `icedit tune` on ")
                .append(Instant.now().toString(), 0, 10).append(String.format(Locale.ROOT, " in %.1f minutes.%n", r.minutes()));
        comment.append("It is the smallest ").append(r.clampKey()).append(" among ").append(r.candidates().size())
                .append(" candidates that reached Edit Success >= ").append(Tuner.fmt(o.targetEditSucc()))
                .append(" with Locality >= ").append(Tuner.fmt(o.minLocality())).append(" on ")
                .append(c.edits()).append(" facts sampled (seed ").append(o.seed()).append(") from ")
                .append(String.join(", ", files)).append(String.format(Locale.ROOT,
                        ": candidate %d, Edit Success %.1f, Locality %s.%n", c.number(), c.editSucc(), pct(c.locality())));
        if (model.tokenizer().chatTemplate()) {
            comment.append("Every prompt was wrapped in the model's chat template (--chat-template): evaluate it the same"
                    + " way.\n");
        }
        comment.append("Started from ").append(r.start().summary());
        List<String> changed = new ArrayList<>();
        o.startChanges().forEach((k, v) -> changed.add(k + " " + v));
        if (o.startLr() != null) {
            changed.add(r.lrKey() + " " + Tuner.fmt(o.startLr()));
        }
        if (o.startClamp() != null) {
            changed.add(r.clampKey() + " " + Tuner.fmt(o.startClamp()));
        }
        if (!changed.isEmpty()) {
            comment.append(", with ").append(String.join(", ", changed));
        }
        comment.append(".\nThe search stopped when ").append(r.stopReason()).append(".\n");
        comment.append("The facts it was tuned on are listed under tuned_on; `icedit eval --hparams THIS_FILE` leaves"
                + " them out.\nCandidates:\n");
        comment.append(table(r));
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put(HyperParams.TUNED_ON, r.tunedOn().asYaml());
        return HyperParams.toYaml(r.chosenHyperParams(), comment.toString(), extra);
    }

    /** Everything about the search, for tune.json. */
    public static Map<String, Object> json(Tuner.Result r, LanguageModel model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", r.method());
        m.put("model", model.directory().toString());
        m.put("model_fingerprint", model.fingerprint());
        m.put("start", r.start().describe());
        m.put("start_changes", r.options().startChanges());
        m.put("target_edit_succ", r.options().targetEditSucc());
        m.put("min_locality", r.options().minLocality());
        m.put("budget_minutes", r.options().budgetMinutes());
        m.put("seed", r.options().seed());
        m.put("tuned_on", r.tunedOn().asYaml());
        List<Map<String, Object>> cs = new ArrayList<>();
        for (Tuner.Candidate c : r.candidates()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("number", c.number());
            row.put("stage", c.stage());
            row.put("change", c.change());
            row.put("settings", c.settings());
            row.put("edit_succ", c.editSucc());
            row.put("locality", c.locality());
            row.put("edits", c.edits());
            row.put("minutes", c.minutes());
            row.put("passed", c.passed());
            row.put("error", c.error());
            row.put("directory", c.directory().toString());
            cs.add(row);
        }
        m.put("candidates", cs);
        m.put("chosen", r.chosen() == null ? null : r.chosen().number());
        m.put("chosen_hyper_parameters", r.chosenHyperParams() == null ? null : HyperParams.asMap(r.chosenHyperParams()));
        m.put("stop_reason", r.stopReason());
        m.put("minutes", r.minutes());
        return m;
    }

    /** Writes tune.json, tune.md and tune.png into {@code out}, and the preset to {@code preset} if one was chosen. */
    public static void write(Tuner.Result r, LanguageModel model, Path out, Path preset) {
        try {
            Files.createDirectories(out);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve("tune.json").toFile(),
                    json(r, model));
            Files.writeString(out.resolve("tune.md"), table(r));
            byte[] png = chart(r);
            if (png != null) {
                Files.write(out.resolve("tune.png"), png);
            }
            if (r.chosen() != null && preset != null) {
                if (preset.getParent() != null) {
                    Files.createDirectories(preset.getParent());
                }
                Files.writeString(preset, preset(r, model));
            }
        } catch (IOException e) {
            throw IceditException.inFile(out, "cannot write the tuning report: " + e.getMessage());
        }
    }
}
