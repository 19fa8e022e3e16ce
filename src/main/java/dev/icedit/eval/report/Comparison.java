package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.MetricTable;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.SavedRun;
import dev.icedit.tensor.IceditException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Runs over the same cases side by side: each metric of each run with its interval, and each later run's difference
 * from the first with a paired bootstrap interval (the same resampled cases for both runs) and the share of cases
 * where either run is ahead. Runs over different data (its SHA-256), different cases (record indices) or of
 * different protocols are refused.
 */
public record Comparison(List<SavedRun> runs, List<Row> rows, int resamples, long seed) {

    /**
     * One metric: each run's estimate (null where it has none) and, for runs after the first, the paired difference
     * run - first and how often each is ahead, over the cases where both have it.
     */
    public record Row(Protocol protocol, String metric, List<Estimate> values, List<Difference> differences) {}

    /** run - first over the shared cases; {@code ahead}: share of those cases where the run is better, {@code behind} worse. */
    public record Difference(Estimate estimate, double ahead, double behind, double tied) {}

    public static Comparison of(List<Path> dirs, int resamples, long seed) {
        if (dirs.size() < 2) {
            throw new IceditException("give at least two run directories to compare");
        }
        List<SavedRun> runs = dirs.stream().map(SavedRun::read).toList();
        SavedRun first = runs.get(0);
        List<Integer> ids = first.cases().stream().map(CaseRecord::index).toList();
        for (SavedRun r : runs.subList(1, runs.size())) {
            if (!Objects.equals(r.dataSha256(), first.dataSha256())) {
                throw IceditException.inFile(r.dir(), "was run on other data than " + first.dir() + " (data_sha256 "
                        + shortSha(r.dataSha256()) + " against " + shortSha(first.dataSha256()) + "), so its cases differ");
            }
            List<Integer> other = r.cases().stream().map(CaseRecord::index).toList();
            if (!new TreeSet<>(other).equals(new TreeSet<>(ids))) {
                throw IceditException.inFile(r.dir(), "holds other cases than " + first.dir() + " (" + other.size()
                        + " cases, records " + range(other) + ", against " + ids.size() + ", records " + range(ids)
                        + "); compare runs of the same --offset and --limit");
            }
            if (r.protocol() != first.protocol()) {
                throw IceditException.inFile(r.dir(), "was measured under the " + r.protocol().label()
                        + " protocol and " + first.dir() + " under " + first.protocol().label()
                        + "; their numbers do not compare");
            }
        }
        List<List<Measurement>> posts = new ArrayList<>();
        for (SavedRun r : runs) {
            Map<Integer, Measurement> byId = new LinkedHashMap<>();
            r.cases().forEach(c -> byId.put(c.index(), c.post()));
            posts.add(ids.stream().map(byId::get).toList()); // every run in the first run's case order
        }
        List<Measurement> all = posts.stream().flatMap(List::stream).toList();
        List<Row> rows = new ArrayList<>();
        for (MetricTable.Column col : MetricTable.columns(first.protocol(), all)) {
            List<double[][]> sums = posts.stream().map(col::sums).toList();
            List<Estimate> values = sums.stream().map(s -> Bootstrap.ratio(s[0], s[1], resamples, seed)).toList();
            if (values.stream().allMatch(Objects::isNull)) {
                continue;
            }
            List<Difference> diffs = new ArrayList<>();
            diffs.add(null);
            for (int k = 1; k < runs.size(); k++) {
                diffs.add(difference(col.name(), sums.get(0), sums.get(k), resamples, seed));
            }
            rows.add(new Row(col.protocol(), col.name(), values, diffs));
        }
        return new Comparison(runs, rows, resamples, seed);
    }

    private static Difference difference(String name, double[][] a, double[][] b, int resamples, long seed) {
        Estimate e = Bootstrap.pairedDifference(a[0], a[1], b[0], b[1], resamples, seed);
        if (e == null) {
            return null;
        }
        int ahead = 0;
        int behind = 0;
        int n = 0;
        boolean higher = MetricNames.higherIsBetter(name);
        for (int i = 0; i < a[1].length; i++) {
            if (a[1][i] > 0 && b[1][i] > 0) {
                double va = a[0][i] / a[1][i];
                double vb = b[0][i] / b[1][i];
                n++;
                if (vb != va) {
                    if ((vb > va) == higher) {
                        ahead++;
                    } else {
                        behind++;
                    }
                }
            }
        }
        return new Difference(e, (double) ahead / n, (double) behind / n, (double) (n - ahead - behind) / n);
    }

    /** A short label for each run: its method, with the directory name where two runs share a method. */
    public List<String> labels() {
        List<String> methods = runs.stream().map(SavedRun::method).toList();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            String m = methods.get(i);
            out.add(methods.indexOf(m) != methods.lastIndexOf(m) ? m + " (" + runs.get(i).dir().getFileName() + ")" : m);
        }
        return out;
    }

    /** The comparison as JSON-ready maps. */
    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Map<String, Object>> rs = new ArrayList<>();
        List<String> labels = labels();
        for (int i = 0; i < runs.size(); i++) {
            SavedRun r = runs.get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", labels.get(i));
            m.put("dir", r.dir().toString());
            m.put("method", r.method());
            m.put("dataset", r.dataset());
            m.put("mode", r.mode());
            m.put("schedule", r.schedule());
            rs.add(m);
        }
        out.put("runs", rs);
        out.put("protocol", runs.get(0).protocol().label());
        out.put("cases", runs.get(0).cases().size());
        out.put("data_sha256", runs.get(0).dataSha256());
        out.put("intervals", Summary.intervals(resamples, seed));
        List<Map<String, Object>> metrics = new ArrayList<>();
        for (Row row : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("protocol", row.protocol().label());
            m.put("metric", row.metric());
            m.put("higher_is_better", MetricNames.higherIsBetter(row.metric()));
            m.put("values", row.values().stream().map(e -> e == null ? null : Summary.estimate(e)).toList());
            List<Map<String, Object>> ds = new ArrayList<>();
            for (Difference d : row.differences()) {
                if (d == null) {
                    ds.add(null);
                    continue;
                }
                Map<String, Object> dm = Summary.estimate(d.estimate());
                dm.put("share_ahead", d.ahead());
                dm.put("share_behind", d.behind());
                dm.put("share_tied", d.tied());
                ds.add(dm);
            }
            m.put("difference_from_first", ds);
            metrics.add(m);
        }
        out.put("metrics", metrics);
        return out;
    }

    /** The terminal table: one line per metric, each run's value and interval, each later run's difference. */
    public String table() {
        StringBuilder b = new StringBuilder();
        List<String> labels = labels();
        SavedRun first = runs.get(0);
        b.append(String.format(Locale.ROOT, "%d cases of %s (%s protocol); 95%% intervals: bootstrap over cases, %d"
                + " resamples; differences are paired, each run against %s%n", first.cases().size(), first.dataset(),
                first.protocol().label(), resamples, labels.get(0)));
        for (int i = 0; i < runs.size(); i++) {
            b.append(String.format(Locale.ROOT, "  [%d] %s: %s, %s%n", i + 1, labels.get(i), runs.get(i).modeLabel(),
                    runs.get(i).dir()));
        }
        b.append(String.format(Locale.ROOT, "%-34s", "metric"));
        for (int i = 0; i < runs.size(); i++) {
            b.append(String.format(Locale.ROOT, " %-26s", "[" + (i + 1) + "] value [95% CI]"));
        }
        for (int i = 1; i < runs.size(); i++) {
            b.append(String.format(Locale.ROOT, " %-26s %-15s", "[" + (i + 1) + "]-[1] [95% CI]", "ahead/behind"));
        }
        b.append('\n');
        Protocol shown = null;
        for (Row row : rows) {
            if (row.protocol() != shown) {
                shown = row.protocol();
                b.append(shown.label()).append(":\n");
            }
            String name = MetricNames.type(row.metric()) == null ? row.metric() : "  " + MetricNames.type(row.metric());
            b.append(String.format(Locale.ROOT, "  %-32s", name));
            for (Estimate e : row.values()) {
                b.append(String.format(Locale.ROOT, " %-26s", e == null ? "-" : withInterval(row.metric(), e)));
            }
            for (Difference d : row.differences().subList(1, row.differences().size())) {
                if (d == null) {
                    b.append(String.format(Locale.ROOT, " %-26s %-15s", "-", ""));
                } else {
                    b.append(String.format(Locale.ROOT, " %-26s %-15s", withInterval(row.metric(), d.estimate()),
                            String.format(Locale.ROOT, "%.0f%%/%.0f%%", 100 * d.ahead(), 100 * d.behind())));
                }
            }
            b.append('\n');
        }
        return b.toString();
    }

    static String withInterval(String metric, Estimate e) {
        if (e.cases() < 2) {
            return fmt(metric, e.value()) + " [1 case: no interval]"; // a resample of one case is that case
        }
        return fmt(metric, e.value()) + " [" + fmt(metric, e.interval().low()) + ", " + fmt(metric, e.interval().high())
                + "]";
    }

    static String fmt(String metric, double v) {
        return String.format(Locale.ROOT, MetricNames.base(metric).equals("ppl_r") ? "%.3g" : "%.2f", v);
    }

    private static String shortSha(String sha) {
        return sha == null ? "unknown" : sha.substring(0, Math.min(12, sha.length()));
    }

    private static String range(List<Integer> ids) {
        TreeSet<Integer> s = new TreeSet<>(ids);
        return s.isEmpty() ? "none" : s.first() + ".." + s.last();
    }
}
