package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Estimate;
import java.util.List;
import java.util.Locale;

/**
 * The pieces every HTML page of the evaluation shares: the head with its style sheet (a page that wraps long text
 * instead of scrolling sideways on a 1280 px screen), escaping, numbers with intervals, and horizontal bar charts as
 * inline SVG.
 */
final class Page {
    static final String STYLE = "*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0 auto;"
            + "padding:1em 1.5em;max-width:1240px;color:#222;line-height:1.35}"
            + "table{border-collapse:collapse;margin:.6em 0;max-width:100%}"
            + "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
            + "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}th{background:#f3f3f3}"
            + ".sub td:first-child{padding-left:1.6em;color:#555}.ci{color:#666;font-size:.85em}"
            + ".meaning{color:#555;font-size:.85em}.charts{display:flex;flex-wrap:wrap;gap:10px}"
            + ".charts svg,.charts img{border:1px solid #e3e3e3;max-width:100%;height:auto}"
            + "details{margin:1em 0}summary{cursor:pointer;font-weight:bold}pre,code{white-space:pre-wrap;"
            + "overflow-wrap:anywhere}table.cases{table-layout:fixed;width:100%;font-size:.85em}"
            + ".pager{margin:.5em 0}.pager button{margin-right:.3em}input[type=search]{width:22em;max-width:100%}"
            + "h2{margin-top:1.4em;border-bottom:1px solid #ddd}td .ci{display:block}.wide{overflow-x:auto;max-width:100%}"
            + "table.matrix{table-layout:fixed;width:100%;font-size:.9em}table.matrix td.n{white-space:normal}"
            + "table.matrix col.method{width:8.5em}table.matrix col.small{width:3.6em}";

    private Page() {}

    static void head(StringBuilder h, String title) {
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
                .append(esc(title)).append("</title>\n<style>").append(STYLE).append("</style></head><body>\n<h1>")
                .append(esc(title)).append("</h1>\n");
    }

    static String num(Double v) {
        return v == null ? "&ndash;" : String.format(Locale.ROOT, "%.2f", v);
    }

    static String num(String metric, double v) {
        return esc(Comparison.fmt(metric, v));
    }

    /** "71.43 <span class=ci>[47.9, 91.7] n=12</span>", or a dash. */
    static String estimate(String metric, Estimate e) {
        if (e == null) {
            return "&ndash;";
        }
        if (e.cases() < 2) {
            return num(metric, e.value()) + " <span class=ci>[no interval from 1 case] " + counts(e) + "</span>";
        }
        return num(metric, e.value()) + " <span class=ci>[" + num(metric, e.interval().low()) + ", "
                + num(metric, e.interval().high()) + "] " + counts(e) + "</span>";
    }

    static String counts(Estimate e) {
        return e.cases() == e.items() ? "n=" + e.cases() : "n=" + e.cases() + "&nbsp;cases/" + e.items() + "&nbsp;items";
    }

    /** One bar of a chart: a label, its estimate, its colour. */
    record Bar(String label, Estimate value, String color) {}

    /**
     * A horizontal bar chart of estimates with their intervals as whiskers. Percentages run from 0 to 100, other
     * metrics from 0 to the largest interval end.
     */
    static String bars(String title, String metric, List<Bar> bars) {
        int labelW = 150;
        int plotW = 250;
        int valueW = 62;
        int rowH = 16;
        int top = 22;
        int width = labelW + plotW + valueW;
        int height = top + rowH * bars.size() + 18;
        double max = 100;
        if (!MetricNames.percent(metric)) {
            max = 0;
            for (Bar b : bars) {
                if (b.value() != null) {
                    max = Math.max(max, b.value().interval().high());
                }
            }
            max = max <= 0 ? 1 : max * 1.05;
        }
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" role=\"img\" width=\"").append(width)
                .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(width).append(' ')
                .append(height).append("\" font-family=\"sans-serif\" font-size=\"11\"><title>").append(esc(title))
                .append("</title><text x=\"4\" y=\"14\" font-weight=\"bold\" font-size=\"12\">").append(esc(title))
                .append("</text>");
        s.append(line(labelW, top - 2, labelW, top + rowH * bars.size(), "#999"));
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            int y = top + i * rowH;
            s.append("<text x=\"").append(labelW - 4).append("\" y=\"").append(y + 11)
                    .append("\" text-anchor=\"end\">").append(esc(clip(b.label(), 24))).append("</text>");
            if (b.value() == null) {
                s.append("<text x=\"").append(labelW + 4).append("\" y=\"").append(y + 11).append("\" fill=\"#888\">"
                        + "no data</text>");
                continue;
            }
            double v = x(b.value().value(), max, plotW);
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                    + "<title>%s: %s</title></rect>", labelW, y + 2, v, rowH - 5, b.color(), esc(b.label()),
                    esc(Comparison.withInterval(metric, b.value()))));
            double lo = labelW + x(b.value().interval().low(), max, plotW);
            double hi = labelW + x(b.value().interval().high(), max, plotW);
            int mid = y + 2 + (rowH - 5) / 2;
            s.append(String.format(Locale.ROOT, "<path class=\"ci\" d=\"M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d\""
                    + " stroke=\"#222\" fill=\"none\"/>", lo, mid, hi, lo, mid - 4, mid + 4, hi, mid - 4, mid + 4));
            s.append("<text x=\"").append(labelW + plotW + 4).append("\" y=\"").append(y + 11).append("\">")
                    .append(num(metric, b.value().value())).append("</text>");
        }
        int axisY = top + rowH * bars.size() + 12;
        s.append("<text x=\"").append(labelW).append("\" y=\"").append(axisY).append("\" fill=\"#666\">0</text>")
                .append("<text x=\"").append(labelW + plotW).append("\" y=\"").append(axisY)
                .append("\" text-anchor=\"end\" fill=\"#666\">").append(num(metric, max)).append("</text>");
        return s.append("</svg>").toString();
    }

    private static double x(double v, double max, int plotW) {
        return Math.max(0, Math.min(plotW, v / max * plotW));
    }

    private static String line(int x1, int y1, int x2, int y2, String color) {
        return "<line x1=\"" + x1 + "\" y1=\"" + y1 + "\" x2=\"" + x2 + "\" y2=\"" + y2 + "\" stroke=\"" + color + "\"/>";
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "\u2026";
    }

    static String esc(String s) {
        return HtmlReport.esc(s);
    }
}
