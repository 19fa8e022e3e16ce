package dev.icedit.eval.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The metrics of a run as columns over its cases, each a ratio of per-case sums (see {@link Bootstrap}): totals
 * average the case values over the cases that have one; a per-type column ({@code portability/Reasoning}) pools
 * the items of that type over the cases, as {@link Aggregate} does. Columns are grouped by protocol.
 */
public final class MetricTable {
    private MetricTable() {}

    /**
     * One column: the metric's key ({@code edit_succ}), the item type for a per-type column (else null), the
     * protocol, and per case its (sum, count), null where the case has none.
     */
    public record Column(String key, String type, Protocol protocol, Function<Measurement, double[]> cell) {
        /** The name in summary.json: the key, or key/type. */
        public String name() {
            return type == null ? key : key + "/" + type;
        }

        /** Per case numerators and denominators (0 where the case lacks the metric). */
        public double[][] sums(List<Measurement> ms) {
            double[] num = new double[ms.size()];
            double[] den = new double[ms.size()];
            for (int i = 0; i < ms.size(); i++) {
                double[] c = ms.get(i) == null ? null : cell.apply(ms.get(i));
                if (c != null && c[1] > 0) {
                    num[i] = c[0];
                    den[i] = c[1];
                }
            }
            return new double[][] {num, den};
        }

        public Estimate estimate(List<Measurement> ms, int resamples, long seed) {
            double[][] s = sums(ms);
            return Bootstrap.ratio(s[0], s[1], resamples, seed);
        }
    }

    /** The columns of the protocols {@code protocol} measures, with a per-type column for every type in {@code ms}. */
    public static List<Column> columns(Protocol protocol, List<Measurement> ms) {
        List<Column> out = new ArrayList<>();
        for (Protocol p : protocol.measured()) {
            if (p == Protocol.TEACHER_FORCED) {
                out.add(value("edit_succ", p, Measurement::editSucc));
                out.add(value("rephrase", p, Measurement::rephrase));
                out.add(value("portability", p, Measurement::portability));
                out.addAll(byType("portability", p, ms, Measurement::portabilityItems));
                out.add(value("locality", p, Measurement::locality));
                out.addAll(byType("locality", p, ms, Measurement::localityItems));
                out.add(value("fluency", p, Measurement::fluency));
                out.add(value("ppl_r", p, Measurement::pplR));
                out.add(value("exact_match", p, Measurement::exactMatch));
            } else {
                out.add(value("edit_succ", p, gen(GenerationScores::editMatch)));
                out.add(value("edit_succ_contains", p, gen(GenerationScores::editContains)));
                out.add(value("rephrase", p, gen(GenerationScores::rephraseMatch)));
                out.add(value("rephrase_contains", p, gen(GenerationScores::rephraseContains)));
                out.add(value("portability", p, gen(g -> meanOf(g.portabilityMatch()))));
                out.addAll(byType("portability", p, ms, genItems(GenerationScores::portabilityMatch)));
                out.add(value("portability_contains", p, gen(g -> meanOf(g.portabilityContains()))));
                out.addAll(byType("portability_contains", p, ms, genItems(GenerationScores::portabilityContains)));
                out.add(value("locality", p, gen(g -> meanOf(g.locality()))));
                out.addAll(byType("locality", p, ms, genItems(GenerationScores::locality)));
            }
        }
        return out;
    }

    /** Estimates of every column over {@code ms}, by protocol then name; columns no case has are left out. */
    public static Map<Protocol, Map<String, Estimate>> estimates(Protocol protocol, List<Measurement> ms, int resamples,
            long seed) {
        Map<Protocol, Map<String, Estimate>> out = new LinkedHashMap<>();
        for (Protocol p : protocol.measured()) {
            out.put(p, new LinkedHashMap<>());
        }
        for (Column c : columns(protocol, ms)) {
            Estimate e = c.estimate(ms, resamples, seed);
            if (e != null) {
                out.get(c.protocol()).put(c.name(), e);
            }
        }
        return out;
    }

    private static Column value(String key, Protocol p, Function<Measurement, Double> v) {
        return new Column(key, null, p, m -> {
            Double d = v.apply(m);
            return d == null || d.isNaN() ? null : new double[] {d, 1};
        });
    }

    private static List<Column> byType(String key, Protocol p, List<Measurement> ms,
            Function<Measurement, Map<String, List<Double>>> items) {
        TreeSet<String> types = new TreeSet<>();
        for (Measurement m : ms) {
            Map<String, List<Double>> i = m == null ? null : items.apply(m);
            if (i != null) {
                types.addAll(i.keySet());
            }
        }
        List<Column> out = new ArrayList<>();
        for (String t : types) {
            out.add(new Column(key, t, p, m -> {
                Map<String, List<Double>> i = items.apply(m);
                List<Double> scores = i == null ? null : i.get(t);
                if (scores == null || scores.isEmpty()) {
                    return null;
                }
                double sum = 0;
                for (double s : scores) {
                    sum += s;
                }
                return new double[] {sum, scores.size()};
            }));
        }
        return out;
    }

    private static Function<Measurement, Double> gen(Function<GenerationScores, Double> f) {
        return m -> m.generation() == null ? null : f.apply(m.generation());
    }

    private static Function<Measurement, Map<String, List<Double>>> genItems(
            Function<GenerationScores, Map<String, List<Double>>> f) {
        return m -> m.generation() == null ? null : f.apply(m.generation());
    }

    private static Double meanOf(Map<String, List<Double>> items) {
        return Measurement.meanOfItems(items);
    }
}
