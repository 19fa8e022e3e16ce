package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Fluency;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.TokenMetrics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each metric on hand-made inputs whose answer is worked out by hand. */
class MetricsTest {
    private static final double LOG2_3 = Math.log(3) / Math.log(2);

    @Test
    void wordsSplitPunctuationButKeepContractionsAndNumbers() {
        assertThat(Fluency.words("Paris, France's capital, has 2.1 million well-known people."))
                .containsExactly("Paris", ",", "France's", "capital", ",", "has", "2.1", "million", "well-known",
                        "people", ".");
    }

    @Test
    void nGramEntropyOfKnownTexts() {
        // "a b c d": bigrams ab, bc, cd (uniform over 3), trigrams abc, bcd (uniform over 2)
        List<String> w = Fluency.words("a b c d");
        assertThat(Fluency.entropyBits(w, 2)).isCloseTo(LOG2_3, within(1e-12));
        assertThat(Fluency.entropyBits(w, 3)).isCloseTo(1.0, within(1e-12));
        assertThat(Fluency.score("a b c d")).isCloseTo(100 * (2.0 / 3 * LOG2_3 + 4.0 / 3 * 1.0) / 2, within(1e-9));
        // "a b a b a": bigrams ab, ba, ab, ba -> 1 bit; trigrams aba, bab, aba -> p = 2/3, 1/3
        List<String> alt = Fluency.words("a b a b a");
        double h3 = -(2.0 / 3 * Math.log(2.0 / 3) + 1.0 / 3 * Math.log(1.0 / 3)) / Math.log(2);
        assertThat(Fluency.entropyBits(alt, 2)).isCloseTo(1.0, within(1e-12));
        assertThat(Fluency.entropyBits(alt, 3)).isCloseTo(h3, within(1e-12));
        // a text that only repeats itself has no entropy; one too short for trigrams has no trigram entropy
        assertThat(Fluency.score("the the the the the")).isZero();
        assertThat(Fluency.entropyBits(Fluency.words("hello world"), 3)).isZero();
        assertThat(Fluency.score("")).isZero();
    }

    @Test
    void tokenAccuracyAndLocalityAgreementAreFractionsOfPositions() {
        assertThat(TokenMetrics.tokenAccuracy(new long[] {5, 7, 9, 1}, new long[] {5, 7, 2, 3})).isEqualTo(50.0);
        assertThat(TokenMetrics.tokenAccuracy(new long[] {4}, new long[] {4})).isEqualTo(100.0);
        assertThat(TokenMetrics.agreement(new long[] {1, 2, 3}, new long[] {1, 0, 3})).isCloseTo(200.0 / 3, within(1e-12));
        assertThat(TokenMetrics.agreement(new long[] {1, 2, 3}, new long[] {0, 0, 0})).isZero();
    }

    @Test
    void exactMatchIsAPrefixTestIgnoringLeadingSpace() {
        assertThat(TokenMetrics.exactMatch(" Rome, the capital", "Rome")).isEqualTo(100.0);
        assertThat(TokenMetrics.exactMatch("Rom", "Rome")).isZero();
        assertThat(TokenMetrics.exactMatch(" the Rome", "Rome")).isZero();
    }

    @Test
    void perplexityRatioFromKnownLogProbs() {
        // continuation: mean log-prob -2 -> ppl e^2; target: mean -1 -> ppl e; ratio e
        double[] gen = {-1, -3};
        double[] target = {-0.5, -1.5};
        assertThat(TokenMetrics.perplexity(gen)).isCloseTo(Math.exp(2), within(1e-12));
        assertThat(TokenMetrics.perplexityRatio(gen, target)).isCloseTo(Math.E, within(1e-12));
        assertThat(TokenMetrics.perplexityRatio(new double[0], target)).isNull();
    }

    @Test
    void portabilityAveragesCaseMeansOverCasesWithItemsAndPoolsItemsPerType() {
        Measurement a = case_(items("Reasoning", 100.0, 0.0, "Subject_Aliasing", 100.0), Map.of()); // case mean 66.67
        Measurement b = case_(items("Reasoning", 50.0), Map.of()); // case mean 50
        Measurement c = case_(Map.of(), Map.of()); // no portability items: not counted
        Aggregate agg = Aggregate.of(List.of(a, b, c));
        assertThat(a.portability()).isCloseTo(200.0 / 3, within(1e-12));
        assertThat(agg.portability()).isCloseTo((200.0 / 3 + 50) / 2, within(1e-12));
        assertThat(agg.portabilityByType()).containsOnlyKeys("Reasoning", "Subject_Aliasing");
        assertThat(agg.portabilityByType().get("Reasoning")).isCloseTo(50.0, within(1e-12)); // (100 + 0 + 50) / 3
        assertThat(agg.portabilityByType().get("Subject_Aliasing")).isEqualTo(100.0);
        assertThat(agg.locality()).isNull();
        assertThat(agg.localityByType()).isNull();
        assertThat(agg.editSucc()).isEqualTo(100.0);
        assertThat(agg.rephrase()).isNull(); // no case has a rephrase prompt
    }

    @Test
    void localityAveragesLikePortability() {
        Measurement a = case_(Map.of(), items("Relation_Specificity", 100.0, 50.0, "Forgetfulness", 0.0));
        Measurement b = case_(Map.of(), items("Relation_Specificity", 75.0));
        Aggregate agg = Aggregate.of(List.of(a, b));
        assertThat(agg.locality()).isCloseTo((50.0 + 75.0) / 2, within(1e-12));
        assertThat(agg.localityByType().get("Relation_Specificity")).isCloseTo(225.0 / 3, within(1e-12));
        assertThat(agg.localityByType().get("Forgetfulness")).isZero();
    }

    private static Measurement case_(Map<String, List<Double>> portability, Map<String, List<Double>> locality) {
        return new Measurement(100.0, null, Measurement.meanOfItems(portability), portability,
                Measurement.meanOfItems(locality), locality, 500.0, 1.0, 100.0, "", "");
    }

    /** "TypeA", scores..., "TypeB", scores... */
    private static Map<String, List<Double>> items(Object... spec) {
        Map<String, List<Double>> m = new LinkedHashMap<>();
        String type = null;
        for (Object o : spec) {
            if (o instanceof String s) {
                type = s;
                m.put(type, new java.util.ArrayList<>());
            } else {
                m.get(type).add((Double) o);
            }
        }
        return m;
    }
}
