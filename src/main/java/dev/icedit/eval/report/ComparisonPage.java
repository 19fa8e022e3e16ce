package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.run.SavedRun;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The HTML page of a {@link Comparison}: the runs, then per protocol one row per metric, then a chart per metric. */
public final class ComparisonPage {
    static final String[] COLORS = {"#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
        "#8c8c8c", "#ccb974", "#64b5cd"};

    private ComparisonPage() {}

    public static String render(Comparison c) {
        StringBuilder h = new StringBuilder();
        List<String> labels = c.labels();
        SavedRun first = c.runs().get(0);
        Page.head(h, "icedit compare: " + String.join(" vs ", labels) + " on " + first.dataset());
        h.append("<p>").append(first.cases().size()).append(" cases, the same in every run (data SHA-256 <code>")
                .append(Page.esc(first.dataSha256())).append("</code>), ").append(first.protocol().label())
                .append(" protocol. Values after the edits with 95% intervals (percentile bootstrap over cases, ")
                .append(c.resamples()).append(" resamples, seed ").append(c.seed()).append("); each difference is")
                .append(" paired (the same resampled cases for both runs) against [1] ").append(Page.esc(labels.get(0)))
                .append(", with the share of cases where the run is ahead of it and behind it.</p>\n<ol>");
        for (int i = 0; i < c.runs().size(); i++) {
            SavedRun r = c.runs().get(i);
            h.append("<li>").append(Page.esc(labels.get(i))).append(": ").append(Page.esc(r.modeLabel())).append(", <code>")
                    .append(Page.esc(r.dir().toString())).append("</code></li>");
        }
        h.append("</ol>\n");
        Protocol shown = null;
        for (Comparison.Row row : c.rows()) {
            if (row.protocol() != shown) {
                if (shown != null) {
                    h.append("</table>\n");
                }
                shown = row.protocol();
                h.append("<h2>").append(shown.label()).append(" protocol</h2>\n<table><tr><th>metric</th>");
                for (int i = 0; i < labels.size(); i++) {
                    h.append("<th>[").append(i + 1).append("] ").append(Page.esc(labels.get(i))).append("</th>");
                }
                for (int i = 1; i < labels.size(); i++) {
                    h.append("<th>[").append(i + 1).append("] &minus; [1]</th><th>ahead / behind / tied</th>");
                }
                h.append("</tr>\n");
            }
            boolean sub = MetricNames.type(row.metric()) != null;
            h.append(sub ? "<tr class=sub><td>" : "<tr><td>").append(Page.esc(sub ? MetricNames.type(row.metric())
                    : MetricNames.label(row.metric())));
            if (!sub) {
                h.append("<div class=meaning>").append(Page.esc(MetricNames.meaning(row.protocol(), row.metric())))
                        .append("</div>");
            }
            h.append("</td>");
            for (Estimate e : row.values()) {
                h.append("<td class=n>").append(Page.estimate(row.metric(), e)).append("</td>");
            }
            for (Comparison.Difference d : row.differences().subList(1, row.differences().size())) {
                if (d == null) {
                    h.append("<td class=n>&ndash;</td><td></td>");
                } else {
                    h.append("<td class=n>").append(Page.estimate(row.metric(), d.estimate())).append("</td><td class=n>")
                            .append(String.format(Locale.ROOT, "%.0f%% / %.0f%% / %.0f%%", 100 * d.ahead(),
                                    100 * d.behind(), 100 * d.tied()))
                            .append("</td>");
                }
            }
            h.append("</tr>\n");
        }
        if (shown != null) {
            h.append("</table>\n");
        }
        h.append("<h2>Charts</h2>\n<div class=charts>");
        for (Comparison.Row row : c.rows()) {
            if (MetricNames.type(row.metric()) != null) {
                continue;
            }
            List<Page.Bar> bars = new ArrayList<>();
            for (int i = 0; i < labels.size(); i++) {
                bars.add(new Page.Bar(labels.get(i), row.values().get(i), COLORS[i % COLORS.length]));
            }
            h.append(Page.bars(MetricNames.label(row.metric()) + " (" + row.protocol().label() + ")", row.metric(), bars));
        }
        h.append("</div>\n</body></html>\n");
        return h.toString();
    }
}
