package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.icedit.eval.metrics.AnswerMatch;
import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Estimate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.MetricTable;
import dev.icedit.eval.metrics.Protocol;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bootstrap intervals and the generation protocol's answer scoring, on hand-made inputs. */
class StatisticsTest {
    static final double[] SAMPLE = {100, 0, 100, 100, 50, 0, 100, 75, 100, 25, 100, 100};

    /** The percentile bootstrap of a mean, written out by hand: same generator, same draws, numpy's percentile. */
    static double[] referenceInterval(double[] x, int resamples, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int b = 0; b < resamples; b++) {
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                sum += x[rng.nextInt(x.length)];
            }
            means[b] = sum / x.length;
        }
        Arrays.sort(means);
        return new double[] {quantile(means, 0.025), quantile(means, 0.975)};
    }

    static double quantile(double[] sorted, double q) {
        double h = (sorted.length - 1) * q;
        int below = (int) h;
        double above = below + 1 < sorted.length ? sorted[below + 1] : sorted[below];
        return sorted[below] + (h - below) * (above - sorted[below]);
    }

    static double[] ones(int n) {
        double[] d = new double[n];
        Arrays.fill(d, 1);
        return d;
    }

    @Test
    void bootstrapIntervalOfAKnownSampleMatchesTheHandWrittenReference() {
        Estimate e = Bootstrap.ratio(SAMPLE, ones(SAMPLE.length), 2000, 7);
        double[] ref = referenceInterval(SAMPLE, 2000, 7);
        System.out.printf("[bootstrap] mean %.4f, interval [%.4f, %.4f], reference [%.4f, %.4f]%n", e.value(),
                e.interval().low(), e.interval().high(), ref[0], ref[1]);
        assertThat(e.value()).isCloseTo(850.0 / 12, within(1e-12));
        assertThat(e.cases()).isEqualTo(12);
        assertThat(e.interval().low()).isCloseTo(ref[0], within(1e-9));
        assertThat(e.interval().high()).isCloseTo(ref[1], within(1e-9));
        // seeded: the same seed gives the same interval, another seed another one
        assertThat(Bootstrap.ratio(SAMPLE, ones(12), 2000, 7)).isEqualTo(e);
        assertThat(Bootstrap.ratio(SAMPLE, ones(12), 2000, 8).interval()).isNotEqualTo(e.interval());
    }

    @Test
    void intervalWidthIsThatOfTheNormalApproximationOnALargeSample() {
        // 400 values of 0 or 100 with p = 0.3: the standard error is 100 * sqrt(0.3 * 0.7 / 400) = 2.291
        double[] x = new double[400];
        for (int i = 0; i < 120; i++) {
            x[i] = 100;
        }
        Estimate e = Bootstrap.ratio(x, ones(400), 2000, 0);
        double expected = 2 * 1.96 * 100 * Math.sqrt(0.3 * 0.7 / 400);
        assertThat(e.interval().width()).isCloseTo(expected, within(0.1 * expected));
        assertThat(e.interval().low()).isLessThan(30.0);
        assertThat(e.interval().high()).isGreaterThan(30.0);
        // a constant sample has a zero-width interval
        Estimate constant = Bootstrap.ratio(ones(50), ones(50), 500, 0);
        assertThat(constant.interval().low()).isEqualTo(1.0);
        assertThat(constant.interval().high()).isEqualTo(1.0);
    }

    @Test
    void perTypeMetricsResampleCasesAndPoolTheirItems() {
        // case 0: Reasoning 100, 0; case 1: Reasoning 50; case 2: no Reasoning item
        Measurement a = measurement(Map.of("Reasoning", List.of(100.0, 0.0)));
        Measurement b = measurement(Map.of("Reasoning", List.of(50.0)));
        Measurement c = measurement(Map.of("Subject_Aliasing", List.of(100.0)));
        Map<Protocol, Map<String, Estimate>> est = MetricTable.estimates(Protocol.TEACHER_FORCED, List.of(a, b, c), 2000, 1);
        Estimate reasoning = est.get(Protocol.TEACHER_FORCED).get("portability/Reasoning");
        assertThat(reasoning.value()).isCloseTo(50.0, within(1e-12)); // (100 + 0 + 50) / 3 items
        assertThat(reasoning.cases()).isEqualTo(2);
        assertThat(reasoning.items()).isEqualTo(3);
        // the resampling is over the two cases that have the type: sums (100, 2) and (50, 1)
        double[] num = {100, 50};
        double[] den = {2, 1};
        SplittableRandom rng = new SplittableRandom(1);
        double[] stats = new double[2000];
        for (int r = 0; r < stats.length; r++) {
            double n = 0;
            double d = 0;
            for (int i = 0; i < 2; i++) {
                int k = rng.nextInt(2);
                n += num[k];
                d += den[k];
            }
            stats[r] = n / d;
        }
        Arrays.sort(stats);
        assertThat(reasoning.interval().low()).isCloseTo(quantile(stats, 0.025), within(1e-9));
        assertThat(reasoning.interval().high()).isCloseTo(quantile(stats, 0.975), within(1e-9));
        assertThat(est.get(Protocol.TEACHER_FORCED).get("portability/Subject_Aliasing").cases()).isEqualTo(1);
        assertThat(est.get(Protocol.TEACHER_FORCED)).doesNotContainKey("rephrase"); // no case has one
    }

    @Test
    void pairedDifferenceOfARunWithItselfIsExactlyZero() {
        Estimate d = Bootstrap.pairedDifference(SAMPLE, ones(12), SAMPLE, ones(12), 2000, 3);
        assertThat(d.value()).isEqualTo(0.0);
        assertThat(d.interval().low()).isEqualTo(0.0);
        assertThat(d.interval().high()).isEqualTo(0.0);
        // a run better by 10 on every case: the difference is 10 with no spread
        double[] better = Arrays.stream(SAMPLE).map(v -> v + 10).toArray();
        Estimate up = Bootstrap.pairedDifference(SAMPLE, ones(12), better, ones(12), 2000, 3);
        assertThat(up.value()).isCloseTo(10.0, within(1e-9));
        assertThat(up.interval().width()).isCloseTo(0.0, within(1e-9));
    }

    @Test
    void generatedAnswersAreNormalisedAsSquadDoes() {
        assertThat(AnswerMatch.normalize("  The Eiffel  Tower!")).isEqualTo("eiffel tower");
        assertThat(AnswerMatch.normalize("An apple, a day")).isEqualTo("apple day");
        assertThat(AnswerMatch.exactMatch(" paris", "Paris")).isEqualTo(100.0);
        assertThat(AnswerMatch.exactMatch("The Beatles", "Beatles")).isEqualTo(100.0); // articles go
        assertThat(AnswerMatch.exactMatch("U.S.A", "USA")).isEqualTo(100.0); // punctuation goes
        assertThat(AnswerMatch.exactMatch("Paris, France", "Paris")).isZero();
        assertThat(AnswerMatch.contains("Paris, France", "Paris")).isEqualTo(100.0);
        assertThat(AnswerMatch.contains("the city of paris", "Paris")).isEqualTo(100.0);
        assertThat(AnswerMatch.contains("Parisian", "Paris")).isZero(); // whole words only
        assertThat(AnswerMatch.contains("Theodore", "the odore")).isZero();
        // the answer ends at the first newline or sentence end, not at a decimal point
        assertThat(AnswerMatch.firstAnswer(" Rome. It is old")).isEqualTo(" Rome");
        assertThat(AnswerMatch.firstAnswer(" Rome\nQ: next")).isEqualTo(" Rome");
        assertThat(AnswerMatch.firstAnswer(" 3.5 million people")).isEqualTo(" 3.5 million people");
        assertThat(AnswerMatch.firstAnswer(" Who? Me")).isEqualTo(" Who");
        // initials, dotted abbreviations and titles inside an answer do not end it; a sentence after them does
        assertThat(AnswerMatch.firstAnswer(" John F. Kennedy. He was")).isEqualTo(" John F. Kennedy");
        assertThat(AnswerMatch.firstAnswer(" the U.S. Navy. It")).isEqualTo(" the U.S. Navy");
        assertThat(AnswerMatch.firstAnswer(" J.J. Abrams")).isEqualTo(" J.J. Abrams");
        assertThat(AnswerMatch.firstAnswer(" St. Louis, Missouri. It")).isEqualTo(" St. Louis, Missouri");
        assertThat(AnswerMatch.firstAnswer(" Leland Stanford Jr. University\nQ:")).isEqualTo(" Leland Stanford Jr. University");
        assertThat(AnswerMatch.firstAnswer(" in 1990. Then")).isEqualTo(" in 1990");
        assertThat(AnswerMatch.firstAnswer(" Stockholm. A city")).isEqualTo(" Stockholm");
        assertThat(AnswerMatch.exactMatch(AnswerMatch.firstAnswer(" B. V. Karanth. An Indian"), "B. V. Karanth")).isEqualTo(100.0);
        assertThat(AnswerMatch.budget(3)).isEqualTo(8);
    }

    private static Measurement measurement(Map<String, List<Double>> portability) {
        return new Measurement(100.0, null, Measurement.meanOfItems(portability), portability, null, Map.of(), 500.0,
                1.0, 100.0, "", "");
    }
}
