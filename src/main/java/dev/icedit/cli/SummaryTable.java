package dev.icedit.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The metrics of a summary.json on the terminal: per protocol, each metric with its 95% interval and its counts. */
final class SummaryTable {
    private SummaryTable() {}

    @SuppressWarnings("unchecked")
    static void print(PrintWriter out, Map<String, Object> summary) {
        Map<String, Object> intervals = (Map<String, Object>) summary.get("intervals");
        Map<String, Object> metrics = (Map<String, Object>) summary.get("metrics");
        for (Map.Entry<String, Object> p : metrics.entrySet()) {
            out.printf("  %s protocol (after the edits; 95%% interval: bootstrap over cases, %s resamples):%n",
                    p.getKey(), intervals.get("resamples"));
            for (Map.Entry<String, Object> e : ((Map<String, Object>) p.getValue()).entrySet()) {
                Map<String, Object> m = (Map<String, Object>) e.getValue();
                String name = e.getKey().contains("/") ? "  " + e.getKey().substring(e.getKey().indexOf('/') + 1)
                        : e.getKey();
                String interval = ((Number) m.get("cases")).intValue() < 2 ? "[1 case: no interval]"
                        : "[" + num(e.getKey(), ((List<?>) m.get("ci95")).get(0)) + ", "
                                + num(e.getKey(), ((List<?>) m.get("ci95")).get(1)) + "]";
                out.printf("  %-24s %s  %s  %s%n", name, num(e.getKey(), m.get("value")), interval, counts(m));
            }
        }
    }

    static String counts(Map<String, Object> m) {
        Object cases = m.get("cases");
        Object items = m.get("items");
        return cases.equals(items) ? "n=" + cases : "n=" + cases + " cases, " + items + " items";
    }

    static String num(String name, Object v) {
        double d = ((Number) v).doubleValue();
        return String.format(Locale.ROOT, name.startsWith("ppl_r") ? "%8.4g" : "%7.2f", d);
    }
}
