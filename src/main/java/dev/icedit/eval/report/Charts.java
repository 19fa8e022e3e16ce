package dev.icedit.eval.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Line charts of a metric against the number of edits, as PNG bytes (XChart, rendered headless). */
final class Charts {
    private Charts() {}

    /** A chart of the points whose value is not null, or null when there are none. */
    static byte[] png(String title, String yTitle, List<Integer> x, List<Double> y) {
        return png(title, yTitle, Map.of(title, new Series(x, y)));
    }

    /** One line of a chart: y against x, null y values left out. */
    record Series(List<Integer> x, List<Double> y) {}

    /** A chart with one line per entry (with a legend when there are several), or null when no line has a point. */
    static byte[] png(String title, String yTitle, Map<String, Series> lines) {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        XYChart chart = new XYChartBuilder().width(520).height(320).title(title).xAxisTitle("edits")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendVisible(lines.size() > 1);
        if (yTitle.equals("%")) {
            chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0);
        }
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        boolean any = false;
        for (Map.Entry<String, Series> line : lines.entrySet()) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int i = 0; i < line.getValue().x().size(); i++) {
                if (line.getValue().y().get(i) != null) {
                    xs.add((double) line.getValue().x().get(i));
                    ys.add(line.getValue().y().get(i));
                }
            }
            if (!xs.isEmpty()) {
                XYSeries series = chart.addSeries(line.getKey(), xs, ys);
                series.setMarker(SeriesMarkers.CIRCLE);
                any = true;
            }
        }
        if (!any) {
            return null;
        }
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
