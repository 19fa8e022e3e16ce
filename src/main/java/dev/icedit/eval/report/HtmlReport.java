package dev.icedit.eval.report;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.CurvePoint;
import dev.icedit.eval.run.EvalRunner;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.model.tokenizer.Unicode;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * report.html: one self-contained page (plots embedded as base64 PNG) with the settings, the metrics before and
 * after the edits, per-type breakdowns, for continual runs a plot of each metric on the probe set against the
 * number of edits, the skipped records and every case.
 */
public final class HtmlReport {
    private static final int MAX_CASE_ROWS = 1000;

    private HtmlReport() {}

    public static String render(EvalRunner.Result r, Map<String, Object> summary, Dataset data) {
        StringBuilder h = new StringBuilder();
        String title = "icedit eval: " + summary.get("method") + " on " + summary.get("dataset");
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title))
                .append("</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
                        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
                        + "text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}"
                        + "th{background:#f3f3f3}.sub td:first-child{padding-left:2em;color:#555}"
                        + "img{border:1px solid #ddd;margin:4px}</style></head><body>\n");
        h.append("<h1>").append(esc(title)).append("</h1>\n");

        h.append("<h2>Settings</h2>\n<table>\n");
        for (Map.Entry<String, Object> e : r.settings().entrySet()) {
            row(h, e.getKey(), e.getValue() == null ? "" : json(e.getValue()));
        }
        row(h, "skipped records", String.valueOf(data.skipped().size()));
        h.append("</table>\n");

        Aggregate pre = r.before();
        Aggregate post = r.after();
        h.append("<h2>Metrics</h2>\n<p>").append(r.cases().size()).append(" cases; before = the unedited model, after ="
                + " after the edit").append(summary.get("mode").equals("continual") ? "s (" + summary.get("schedule")
                        + " schedule)" : " (each edit reverted before the next case)").append(". Seconds per edit: ")
                .append(num(r.editSeconds().isEmpty() ? null : Aggregate.mean(r.editSeconds()))).append(".</p>\n");
        h.append("<table><tr><th>metric</th><th>before</th><th>after</th></tr>\n");
        for (Metric m : Metric.ALL) {
            h.append("<tr><td>").append(esc(m.label())).append("</td><td class=n>").append(num(m.value().apply(pre)))
                    .append("</td><td class=n>").append(num(m.value().apply(post))).append("</td></tr>\n");
            Map<String, Double> before = m.key().equals("portability") ? pre.portabilityByType()
                    : m.key().equals("locality") ? pre.localityByType() : null;
            Map<String, Double> after = m.key().equals("portability") ? post.portabilityByType()
                    : m.key().equals("locality") ? post.localityByType() : null;
            if (after != null) {
                for (Map.Entry<String, Double> e : after.entrySet()) {
                    h.append("<tr class=sub><td>").append(esc(e.getKey())).append("</td><td class=n>")
                            .append(num(before == null ? null : before.get(e.getKey()))).append("</td><td class=n>")
                            .append(num(e.getValue())).append("</td></tr>\n");
                }
            }
        }
        h.append("</table>\n");

        if (!r.curve().isEmpty()) {
            curve(h, r.curve(), r.settings());
        }
        if (!data.skipped().isEmpty()) {
            h.append("<h2>Skipped records</h2>\n<ul>\n");
            data.skipped().stream().limit(100).forEach(s -> h.append("<li>").append(esc(s.toString())).append("</li>\n"));
            if (data.skipped().size() > 100) {
                h.append("<li>... and ").append(data.skipped().size() - 100).append(" more</li>\n");
            }
            h.append("</ul>\n");
        }
        cases(h, r.cases());
        h.append("</body></html>\n");
        return h.toString();
    }

    public static void write(RunDirectory dir, EvalRunner.Result r, Map<String, Object> summary, Dataset data) {
        RunDirectory.write(dir.report(), render(r, summary, data));
    }

    private static void curve(StringBuilder h, List<CurvePoint> curve, Map<String, Object> settings) {
        h.append("<h2>Metrics against the number of edits</h2>\n<p>Measured on a fixed probe set (the first ")
                .append(settings.get("probes")).append(" cases from the offset) every ").append(settings.get("probe_every"))
                .append(" edits.</p>\n<div>");
        List<Integer> x = curve.stream().map(CurvePoint::edits).toList();
        for (Metric m : Metric.ALL) {
            byte[] png = Charts.png(m.label(), m.unit(), x, curve.stream().map(p -> m.value().apply(p.metrics())).toList());
            if (png != null) {
                h.append("<img alt=\"").append(esc(m.label())).append(" against edits\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(png)).append("\">");
            }
        }
        byte[] memory = Charts.png("Resident memory", "MiB", x, curve.stream().map(CurvePoint::residentMib).toList());
        if (memory != null) {
            h.append("<img alt=\"resident memory against edits\" src=\"data:image/png;base64,")
                    .append(Base64.getEncoder().encodeToString(memory)).append("\">");
        }
        h.append("</div>\n<table><tr><th>edits</th>");
        Metric.ALL.forEach(m -> h.append("<th>").append(esc(m.label())).append("</th>"));
        h.append("<th>edit seconds</th><th>resident MiB</th></tr>\n");
        for (CurvePoint p : curve) {
            h.append("<tr><td class=n>").append(p.edits()).append("</td>");
            Metric.ALL.forEach(m -> h.append("<td class=n>").append(num(m.value().apply(p.metrics()))).append("</td>"));
            h.append("<td class=n>").append(num(p.editSeconds())).append("</td><td class=n>")
                    .append(num(p.residentMib())).append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static void cases(StringBuilder h, List<CaseRecord> cases) {
        h.append("<h2>Cases</h2>\n<table><tr><th>#</th><th>record</th><th>prompt</th><th>target</th>"
                + "<th>edit succ. before / after</th><th>portability after</th><th>locality after</th>"
                + "<th>exact match after</th><th>greedy after</th><th>sampled after</th><th>seconds</th></tr>\n");
        for (CaseRecord c : cases.subList(0, Math.min(cases.size(), MAX_CASE_ROWS))) {
            Measurement a = c.post();
            h.append("<tr><td class=n>").append(c.position()).append("</td><td class=n>").append(c.index())
                    .append("</td><td>").append(esc(c.request().prompt())).append("</td><td>")
                    .append(esc(c.request().target())).append("</td><td class=n>").append(num(c.pre().editSucc()))
                    .append(" / ").append(num(a.editSucc())).append("</td><td class=n>").append(num(a.portability()))
                    .append("</td><td class=n>").append(num(a.locality())).append("</td><td class=n>")
                    .append(num(a.exactMatch())).append("</td><td>").append(esc(a.greedy())).append("</td><td>")
                    .append(esc(a.generated())).append("</td><td class=n>").append(num(c.seconds())).append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (cases.size() > MAX_CASE_ROWS) {
            h.append("<p>First ").append(MAX_CASE_ROWS).append(" cases shown; all are in cases.jsonl.</p>\n");
        }
    }

    private static void row(StringBuilder h, String k, String v) {
        h.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>\n");
    }

    private static String num(Double v) {
        return v == null ? "&ndash;" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String json(Object v) {
        if (v instanceof String s) {
            return s;
        }
        try {
            return RunDirectory.JSON.writeValueAsString(v);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return String.valueOf(v);
        }
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char ch : Unicode.replaceInvalid(s).toCharArray()) {
            switch (ch) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(ch);
            }
        }
        return b.toString();
    }
}
