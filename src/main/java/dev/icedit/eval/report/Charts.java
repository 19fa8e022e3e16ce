package dev.icedit.eval.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
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
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (int i = 0; i < x.size(); i++) {
            if (y.get(i) != null) {
                xs.add((double) x.get(i));
                ys.add(y.get(i));
            }
        }
        if (xs.isEmpty()) {
            return null;
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        XYChart chart = new XYChartBuilder().width(520).height(320).title(title).xAxisTitle("edits")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendVisible(false);
        if (yTitle.equals("%")) {
            chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0);
        }
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        XYSeries series = chart.addSeries(title, xs, ys);
        series.setMarker(SeriesMarkers.CIRCLE);
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
