package dev.icedit.eval.report;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.MetricTable;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.CurvePoint;
import dev.icedit.eval.run.EvalRunner;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.model.tokenizer.Unicode;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * report.html: one self-contained page, built for reading. The metrics first, per protocol, before and after with
 * their 95% intervals and counts, each with a line on what it means, per-type rows under their metric; a
 * before/after bar chart per metric (inline SVG); for continual runs a plot of each metric on the probe set against
 * the number of edits (XChart PNGs); the cases, paginated with a search box; the skipped records; the settings,
 * folded away at the bottom.
 */
public final class HtmlReport {
    private static final int MAX_CASE_ROWS = 5000;
    static final String BEFORE = "#b0b0b0";
    static final String AFTER = "#4c72b0";

    private HtmlReport() {}

    @SuppressWarnings("unchecked")
    public static String render(EvalRunner.Result r, Map<String, Object> summary, Dataset data) {
        StringBuilder h = new StringBuilder();
        String title = "icedit eval: " + summary.get("method") + " on " + summary.get("dataset");
        Page.head(h, title);
        Protocol protocol = Protocol.parse(String.valueOf(summary.get("protocol")));
        Map<String, Object> intervals = (Map<String, Object>) summary.get("intervals");
        int resamples = ((Number) intervals.get("resamples")).intValue();
        h.append("<p>").append(r.cases().size()).append(" cases of <code>").append(esc(String.valueOf(r.settings().get("data"))))
                .append("</code>; before = the unedited model, after = after the edit")
                .append(summary.get("mode").equals("continual") ? "s (" + summary.get("schedule") + " schedule)"
                        : " (each edit reverted before the next case)")
                .append(". Seconds per edit: ").append(Page.num(r.editSeconds().isEmpty() ? null : Aggregate.mean(r.editSeconds())))
                .append(". Intervals: 95%, percentile bootstrap over cases (").append(resamples).append(" resamples, seed ")
                .append(r.seed()).append("); n = the cases that have the metric (and their items, for per-type rows).</p>\n");
        List<Measurement> pre = r.cases().stream().map(CaseRecord::pre).toList();
        List<Measurement> post = r.cases().stream().map(CaseRecord::post).toList();
        metrics(h, protocol, pre, post, resamples, r.seed());
        if (!r.curve().isEmpty()) {
            curve(h, r.curve(), r.settings());
        }
        cases(h, r.cases(), protocol);
        if (!data.skipped().isEmpty()) {
            h.append("<h2>Skipped records</h2>\n<ul>\n");
            data.skipped().stream().limit(100).forEach(s -> h.append("<li>").append(esc(s.toString())).append("</li>\n"));
            if (data.skipped().size() > 100) {
                h.append("<li>... and ").append(data.skipped().size() - 100).append(" more</li>\n");
            }
            h.append("</ul>\n");
        }
        h.append("<details><summary>Settings</summary>\n<table>\n");
        for (Map.Entry<String, Object> e : r.settings().entrySet()) {
            row(h, e.getKey(), e.getValue() == null ? "" : json(e.getValue()));
        }
        row(h, "skipped records", String.valueOf(data.skipped().size()));
        h.append("</table>\n</details>\n");
        h.append(CASES_SCRIPT).append("</body></html>\n");
        return h.toString();
    }

    public static void write(RunDirectory dir, EvalRunner.Result r, Map<String, Object> summary, Dataset data) {
        RunDirectory.write(dir.report(), render(r, summary, data));
    }

    /** Per protocol: the table of every metric before and after, then a before/after chart per metric. */
    static void metrics(StringBuilder h, Protocol protocol, List<Measurement> pre, List<Measurement> post,
            int resamples, long seed) {
        Map<Protocol, Map<String, Estimate>> before = MetricTable.estimates(protocol, pre, resamples, seed);
        Map<Protocol, Map<String, Estimate>> after = MetricTable.estimates(protocol, post, resamples, seed);
        for (Protocol p : protocol.measured()) {
            h.append("<h2>Metrics: ").append(p.label()).append(" protocol</h2>\n<p class=meaning>")
                    .append(esc(protocolLine(p))).append("</p>\n");
            h.append("<table class=metrics><tr><th>metric</th><th>before</th><th>after</th><th>what the numbers mean</th></tr>\n");
            for (Map.Entry<String, Estimate> e : after.get(p).entrySet()) {
                String name = e.getKey();
                boolean sub = MetricNames.type(name) != null;
                h.append(sub ? "<tr class=sub><td>" : "<tr><td>").append(esc(sub ? MetricNames.type(name) : MetricNames.label(name)))
                        .append("</td><td class=n>").append(Page.estimate(name, before.get(p).get(name)))
                        .append("</td><td class=n>").append(Page.estimate(name, e.getValue())).append("</td><td class=meaning>")
                        .append(sub ? "items of this type only" : esc(MetricNames.meaning(p, name))).append("</td></tr>\n");
            }
            h.append("</table>\n<div class=charts>");
            for (Map.Entry<String, Estimate> e : after.get(p).entrySet()) {
                if (MetricNames.type(e.getKey()) == null) {
                    h.append(Page.bars(MetricNames.label(e.getKey()), e.getKey(), List.of(
                            new Page.Bar("before", before.get(p).get(e.getKey()), BEFORE),
                            new Page.Bar("after", e.getValue(), AFTER))));
                }
            }
            h.append("</div>\n");
        }
    }

    static String protocolLine(Protocol p) {
        return p == Protocol.GENERATION
                ? "Generation protocol: the model answers each prompt by greedy free generation (cut at the first newline"
                        + " or sentence end, at most 2 x the answer's tokens + 2), scored by SQuAD-normalised exact match"
                        + " and by containment; locality compares the answers after the edit with those before it."
                : "Teacher-forced protocol (KnowEdit): token accuracy of each answer given its prompt; locality as argmax"
                        + " agreement with the unedited model; fluency and PPL_r from a sampled text; exact match of a"
                        + " greedy continuation as long as the target.";
    }

    static void curve(StringBuilder h, List<CurvePoint> curve, Map<String, Object> settings) {
        h.append("<h2>Metrics against the number of edits</h2>\n<p>Measured on a fixed probe set (the first ")
                .append(settings.get("probes")).append(" cases from the offset) every ").append(settings.get("probe_every"))
                .append(" edits.</p>\n<div class=charts>");
        List<Integer> x = curve.stream().map(CurvePoint::edits).toList();
        for (Metric m : Metric.ALL) {
            byte[] png = Charts.png(m.label(), m.unit(), x, curve.stream().map(p -> m.value().apply(p.metrics())).toList());
            if (png != null) {
                img(h, m.label() + " against edits", png);
            }
        }
        byte[] memory = Charts.png("Resident memory", "MiB", x, curve.stream().map(CurvePoint::residentMib).toList());
        if (memory != null) {
            img(h, "resident memory against edits", memory);
        }
        h.append("</div>\n<details><summary>The curve as a table</summary><table><tr><th>edits</th>");
        Metric.ALL.forEach(m -> h.append("<th>").append(esc(m.label())).append("</th>"));
        h.append("<th>edit seconds</th><th>resident MiB</th></tr>\n");
        for (CurvePoint p : curve) {
            h.append("<tr><td class=n>").append(p.edits()).append("</td>");
            Metric.ALL.forEach(m -> h.append("<td class=n>").append(Page.num(m.value().apply(p.metrics()))).append("</td>"));
            h.append("<td class=n>").append(Page.num(p.editSeconds())).append("</td><td class=n>")
                    .append(Page.num(p.residentMib())).append("</td></tr>\n");
        }
        h.append("</table></details>\n");
    }

    static void img(StringBuilder h, String alt, byte[] png) {
        h.append("<img alt=\"").append(esc(alt)).append("\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(png)).append("\">");
    }

    private static void cases(StringBuilder h, List<CaseRecord> cases, Protocol protocol) {
        boolean tf = protocol.teacherForced();
        boolean gen = protocol.generation();
        h.append("<h2>Cases</h2>\n<div class=pager><input type=search id=case-search placeholder=\"search prompts,"
                + " targets, answers\" aria-label=\"search the cases\"> <span id=case-count></span></div>\n");
        h.append("<table class=cases id=cases><colgroup><col style=\"width:3em\"><col style=\"width:4em\">"
                + "<col style=\"width:16%\"><col style=\"width:9%\">");
        if (tf) {
            h.append("<col style=\"width:6em\"><col style=\"width:5.5em\"><col style=\"width:5.5em\">"
                    + "<col style=\"width:5em\"><col style=\"width:10%\"><col>");
        }
        if (gen) {
            h.append("<col style=\"width:14%\">");
        }
        h.append("<col style=\"width:4.5em\"></colgroup>\n<thead><tr><th>#</th><th>record</th><th>prompt</th><th>target</th>");
        if (tf) {
            h.append("<th>edit succ. before / after</th><th>portability after</th><th>locality after</th>"
                    + "<th>exact match after</th><th>greedy after</th><th>sampled after</th>");
        }
        if (gen) {
            h.append("<th>generated answer after (match / contains)</th>");
        }
        h.append("<th>seconds</th></tr></thead>\n<tbody>\n");
        for (CaseRecord c : cases.subList(0, Math.min(cases.size(), MAX_CASE_ROWS))) {
            Measurement a = c.post();
            h.append("<tr><td class=n>").append(c.position()).append("</td><td class=n>").append(c.index())
                    .append("</td><td>").append(esc(c.request().prompt())).append("</td><td>")
                    .append(esc(c.request().target())).append("</td>");
            if (tf) {
                h.append("<td class=n>").append(Page.num(c.pre().editSucc())).append(" / ").append(Page.num(a.editSucc()))
                        .append("</td><td class=n>").append(Page.num(a.portability())).append("</td><td class=n>")
                        .append(Page.num(a.locality())).append("</td><td class=n>").append(Page.num(a.exactMatch()))
                        .append("</td><td>").append(esc(a.greedy())).append("</td><td>").append(esc(a.generated()))
                        .append("</td>");
            }
            if (gen) {
                var g = a.generation();
                h.append("<td>");
                if (g != null && !g.answers().isEmpty()) {
                    h.append(esc(g.answers().get(0))).append(" <span class=ci>(").append(Page.num(g.editMatch()))
                            .append(" / ").append(Page.num(g.editContains())).append(")</span>");
                }
                h.append("</td>");
            }
            h.append("<td class=n>").append(Page.num(c.seconds())).append("</td></tr>\n");
        }
        h.append("</tbody></table>\n<div class=pager id=case-pages></div>\n");
        if (cases.size() > MAX_CASE_ROWS) {
            h.append("<p>First ").append(MAX_CASE_ROWS).append(" cases shown; all are in cases.jsonl.</p>\n");
        }
    }

    /** Pagination (25 rows a page) and search of the cases table; without script every row shows. */
    static final String CASES_SCRIPT = "<script>(function(){var t=document.getElementById('cases');if(!t)return;"
            + "var rows=[].slice.call(t.tBodies[0].rows),q=document.getElementById('case-search'),"
            + "pages=document.getElementById('case-pages'),count=document.getElementById('case-count'),size=25,page=0;"
            + "function shown(){var s=q.value.toLowerCase();return rows.filter(function(r){return !s||"
            + "r.textContent.toLowerCase().indexOf(s)>=0;});}"
            + "function draw(){var m=shown(),n=Math.max(1,Math.ceil(m.length/size));if(page>=n)page=n-1;"
            + "rows.forEach(function(r){r.style.display='none';});m.slice(page*size,(page+1)*size).forEach("
            + "function(r){r.style.display='';});count.textContent=m.length+' of '+rows.length+' cases';"
            + "pages.innerHTML='';for(var i=0;i<n;i++){var b=document.createElement('button');b.textContent=i+1;"
            + "b.disabled=i===page;b.onclick=(function(k){return function(){page=k;draw();};})(i);pages.appendChild(b);}}"
            + "q.addEventListener('input',function(){page=0;draw();});draw();})();</script>\n";

    private static void row(StringBuilder h, String k, String v) {
        h.append("<tr><th>").append(esc(k)).append("</th><td><code>").append(esc(v)).append("</code></td></tr>\n");
    }

    static String json(Object v) {
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
