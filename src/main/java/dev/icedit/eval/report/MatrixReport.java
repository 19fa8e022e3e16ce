package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.MetricTable;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.SavedRun;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One page for a whole matrix of runs (datasets x methods, single and continual) read from their directories: per
 * dataset and mode, a table of every method's metrics with intervals and counts, a bar chart per metric (the
 * unedited model, then each method after its edits), the per-type breakdown, and the continual curves where the runs
 * have them.
 */
public final class MatrixReport {
    private MatrixReport() {}

    /** The run directories under each path: the path itself when it holds run.json, else every one below it. */
    public static List<Path> find(List<Path> paths) {
        Set<Path> out = new LinkedHashSet<>();
        for (Path p : paths) {
            if (!Files.isDirectory(p)) {
                throw IceditException.inFile(p, "not a directory (give icedit eval --out directories or a folder of them)");
            }
            if (Files.exists(p.resolve("run.json"))) {
                out.add(p.toAbsolutePath().normalize());
                continue;
            }
            try (Stream<Path> s = Files.walk(p, 8)) {
                List<Path> found = s.filter(f -> f.getFileName().toString().equals("run.json")).map(Path::getParent)
                        .map(d -> d.toAbsolutePath().normalize()).sorted().toList();
                if (found.isEmpty()) {
                    throw IceditException.inFile(p, "holds no icedit eval run (no run.json in it or below it)");
                }
                out.addAll(found);
            } catch (IOException e) {
                throw IceditException.inFile(p, "cannot list it: " + e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    public static String render(List<Path> dirs, int resamples) {
        List<SavedRun> runs = dirs.stream().map(SavedRun::read).toList();
        Map<String, List<SavedRun>> groups = new TreeMap<>();
        for (SavedRun r : runs) {
            groups.computeIfAbsent(r.modeLabel() + " \u00b7 " + r.dataset(), k -> new ArrayList<>()).add(r);
        }
        groups.values().forEach(g -> g.sort(Comparator.comparing(SavedRun::method)));
        StringBuilder h = new StringBuilder();
        Page.head(h, "icedit report: " + runs.size() + " runs, " + groups.size() + " dataset/mode groups");
        h.append("<p>Every number is the value after the edits over the run's cases, with its 95% interval (percentile"
                + " bootstrap over cases, ").append(resamples).append(" resamples, seeded by each run's seed) and n, the"
                + " cases that have the metric (and their items, for per-type numbers). Intervals of two methods on the"
                + " same cases overlap more than a paired difference would: use <code>icedit compare</code> for the"
                + " difference of two runs.</p>\n<ul>");
        int g = 0;
        for (Map.Entry<String, List<SavedRun>> e : groups.entrySet()) {
            h.append("<li><a href=\"#group-").append(g++).append("\">").append(Page.esc(e.getKey())).append("</a> (")
                    .append(e.getValue().size()).append(" runs, ").append(e.getValue().get(0).cases().size())
                    .append(" cases)</li>");
        }
        h.append("</ul>\n");
        meanings(h, runs);
        g = 0;
        for (Map.Entry<String, List<SavedRun>> e : groups.entrySet()) {
            h.append("<h2 id=\"group-").append(g++).append("\">").append(Page.esc(e.getKey())).append("</h2>\n");
            group(h, e.getValue(), resamples);
        }
        h.append("<details><summary>Run directories</summary><table><tr><th>dataset</th><th>mode</th><th>method</th>"
                + "<th>cases</th><th>directory</th></tr>\n");
        for (SavedRun r : runs) {
            h.append("<tr><td>").append(Page.esc(r.dataset())).append("</td><td>").append(Page.esc(r.modeLabel()))
                    .append("</td><td>").append(Page.esc(r.method())).append("</td><td class=n>").append(r.cases().size())
                    .append("</td><td><code>").append(Page.esc(r.dir().toString())).append("</code></td></tr>\n");
        }
        h.append("</table></details>\n</body></html>\n");
        return h.toString();
    }

    private static void meanings(StringBuilder h, List<SavedRun> runs) {
        Set<Protocol> protocols = new LinkedHashSet<>();
        runs.forEach(r -> protocols.addAll(r.protocol().measured()));
        h.append("<details open><summary>What the numbers mean</summary><table><tr><th>protocol</th><th>metric</th>"
                + "<th>meaning</th></tr>\n");
        for (Protocol p : protocols) {
            for (MetricTable.Column c : MetricTable.columns(p, List.of())) {
                h.append("<tr><td>").append(p.label()).append("</td><td>").append(Page.esc(MetricNames.label(c.name())))
                        .append("</td><td>").append(Page.esc(MetricNames.meaning(p, c.name()))).append("</td></tr>\n");
            }
        }
        h.append("</table></details>\n");
    }

    private static void group(StringBuilder h, List<SavedRun> runs, int resamples) {
        Set<Protocol> protocols = new LinkedHashSet<>();
        runs.forEach(r -> protocols.addAll(r.protocol().measured()));
        for (Protocol p : protocols) {
            List<SavedRun> measured = runs.stream().filter(r -> r.protocol().measured().contains(p)).toList();
            List<Map<String, Estimate>> after = new ArrayList<>();
            for (SavedRun r : measured) {
                after.add(MetricTable.estimates(p, posts(r), resamples, r.seed()).get(p));
            }
            Map<String, Estimate> before = MetricTable.estimates(p, pres(measured.get(0)), resamples,
                    measured.get(0).seed()).get(p);
            List<String> totals = new ArrayList<>();
            List<String> types = new ArrayList<>();
            for (Map<String, Estimate> a : after) {
                for (String name : a.keySet()) {
                    List<String> into = MetricNames.type(name) == null ? totals : types;
                    if (!into.contains(name)) {
                        into.add(name);
                    }
                }
            }
            h.append("<h3>").append(p.label()).append(" protocol</h3>\n<div class=wide><table class=matrix><colgroup>"
                    + "<col class=method><col class=small><col class=small>");
            totals.forEach(t -> h.append("<col>"));
            h.append("</colgroup><tr><th>method</th><th>cases</th><th>s/edit</th>");
            totals.forEach(t -> h.append("<th>").append(Page.esc(MetricNames.label(t))).append("</th>"));
            h.append("</tr>\n<tr class=sub><td>unedited (before)</td><td class=n>").append(measured.get(0).cases().size())
                    .append("</td><td></td>");
            totals.forEach(t -> h.append("<td class=n>").append(Page.estimate(t, before.get(t))).append("</td>"));
            h.append("</tr>\n");
            for (int i = 0; i < measured.size(); i++) {
                SavedRun r = measured.get(i);
                h.append("<tr><td>").append(Page.esc(r.method())).append("</td><td class=n>").append(r.cases().size())
                        .append("</td><td class=n>").append(String.format(Locale.ROOT, "%.2f", r.secondsPerEdit()))
                        .append("</td>");
                Map<String, Estimate> a = after.get(i);
                totals.forEach(t -> h.append("<td class=n>").append(Page.estimate(t, a.get(t))).append("</td>"));
                h.append("</tr>\n");
            }
            h.append("</table></div>\n<div class=charts>");
            for (String t : totals) {
                List<Page.Bar> bars = new ArrayList<>();
                if (before.get(t) != null) {
                    bars.add(new Page.Bar("unedited (before)", before.get(t), HtmlReport.BEFORE));
                }
                for (int i = 0; i < measured.size(); i++) {
                    bars.add(new Page.Bar(measured.get(i).method(), after.get(i).get(t),
                            ComparisonPage.COLORS[i % ComparisonPage.COLORS.length]));
                }
                h.append(Page.bars(MetricNames.label(t), t, bars));
            }
            h.append("</div>\n");
            if (!types.isEmpty()) {
                h.append("<h4>Per type (").append(p.label()).append(")</h4>\n<div class=wide><table class=matrix>"
                        + "<colgroup><col class=method>");
                types.forEach(t -> h.append("<col>"));
                h.append("</colgroup><tr><th>method</th>");
                types.forEach(t -> h.append("<th>").append(Page.esc(MetricNames.label(t))).append("</th>"));
                h.append("</tr>\n");
                for (int i = 0; i < measured.size(); i++) {
                    h.append("<tr><td>").append(Page.esc(measured.get(i).method())).append("</td>");
                    Map<String, Estimate> a = after.get(i);
                    types.forEach(t -> h.append("<td class=n>").append(Page.estimate(t, a.get(t))).append("</td>"));
                    h.append("</tr>\n");
                }
                h.append("</table></div>\n");
            }
        }
        List<Path> continual = runs.stream().filter(r -> !r.curve().isEmpty()).map(SavedRun::dir).toList();
        if (!continual.isEmpty()) {
            h.append("<h3>Continual curves</h3>\n<p>Each metric on the run's fixed probe set against the number of edits"
                    + " (teacher-forced values).</p>\n<div class=charts>");
            Map<String, byte[]> charts = new LinkedHashMap<>(CurveComparison.charts(continual));
            charts.forEach((k, png) -> HtmlReport.img(h, k + " against edits", png));
            h.append("</div>\n");
        }
    }

    private static List<Measurement> posts(SavedRun r) {
        return r.cases().stream().map(CaseRecord::post).toList();
    }

    private static List<Measurement> pres(SavedRun r) {
        return r.cases().stream().map(CaseRecord::pre).toList();
    }
}
