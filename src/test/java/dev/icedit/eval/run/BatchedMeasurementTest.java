package dev.icedit.eval.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.model.LanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The pre-edit observations of many cases measured in one batch equal those measured case by case: teacher-forced
 * numbers to 1e-6, the greedy and sampled texts (fluency's sample, each row with its own seed) identical, on the
 * first 10 ZsRE cases of ../shared/data with the default model, under both protocols.
 */
class BatchedMeasurementTest {
    static final Path ZSRE = Path.of("../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json");
    static final Path MODEL = Path.of("models/default");

    @Test
    void tenCasesMeasuredInOneBatchEqualTheCasesMeasuredOneByOne() {
        Assumptions.assumeTrue(Files.exists(ZSRE), ZSRE + " is absent: batched-measurement test skipped");
        Assumptions.assumeTrue(Files.exists(MODEL.resolve("config.json")), MODEL + " is absent: test skipped");
        Dataset data = DatasetLoader.load(ZSRE);
        List<EvalCase> cases = data.select(0, 10);
        try (LanguageModel model = LanguageModel.load(MODEL)) {
            CaseMeasurer measurer = new CaseMeasurer(model, model.currentWeights(), 100, 3, Protocol.BOTH);
            List<CaseMeasurer.Observation> batched = measurer.beforeAll(cases);
            assertThat(batched).hasSize(10);
            double largest = 0;
            for (int i = 0; i < cases.size(); i++) {
                CaseMeasurer.Observation one = measurer.before(cases.get(i));
                CaseMeasurer.Observation many = batched.get(i);
                largest = Math.max(largest, assertSame(one, many, "case " + cases.get(i).index()));
            }
            System.out.printf("[batched measurement] 10 cases: largest difference %.3g%n", largest);
        }
    }

    /** Asserts two observations agree (numbers to 1e-6, texts and tokens exactly); returns the largest difference. */
    static double assertSame(CaseMeasurer.Observation a, CaseMeasurer.Observation b, String what) {
        Measurement x = a.measurement();
        Measurement y = b.measurement();
        double d = 0;
        d = Math.max(d, close(x.editSucc(), y.editSucc(), what + " edit_succ"));
        d = Math.max(d, close(x.rephrase(), y.rephrase(), what + " rephrase"));
        d = Math.max(d, close(x.portability(), y.portability(), what + " portability"));
        d = Math.max(d, close(x.locality(), y.locality(), what + " locality"));
        d = Math.max(d, close(x.fluency(), y.fluency(), what + " fluency"));
        d = Math.max(d, close(x.pplR(), y.pplR(), what + " ppl_r"));
        d = Math.max(d, close(x.exactMatch(), y.exactMatch(), what + " exact_match"));
        d = Math.max(d, items(x.portabilityItems(), y.portabilityItems(), what + " portability items"));
        d = Math.max(d, items(x.localityItems(), y.localityItems(), what + " locality items"));
        assertThat(y.greedy()).as(what + " greedy text").isEqualTo(x.greedy());
        assertThat(y.generated()).as(what + " sampled text").isEqualTo(x.generated());
        assertThat(y.generation()).as(what + " generation protocol").isEqualTo(x.generation());
        assertThat(b.targetTokens()).as(what + " target tokens").isEqualTo(a.targetTokens());
        assertThat(b.boundaryMerges()).isEqualTo(a.boundaryMerges());
        assertThat(b.localityAnswers()).isEqualTo(a.localityAnswers());
        assertThat(b.localityArgmax()).hasSameSizeAs(a.localityArgmax());
        for (int j = 0; j < a.localityArgmax().size(); j++) {
            assertThat(b.localityArgmax().get(j)).as(what + " locality argmax " + j).isEqualTo(a.localityArgmax().get(j));
        }
        assertThat(b.targetLogProbs()).hasSameSizeAs(a.targetLogProbs());
        for (int j = 0; j < a.targetLogProbs().length; j++) {
            d = Math.max(d, Math.abs(a.targetLogProbs()[j] - b.targetLogProbs()[j]));
            assertThat(b.targetLogProbs()[j]).as(what + " target log-prob " + j).isCloseTo(a.targetLogProbs()[j], within(1e-6));
        }
        return d;
    }

    private static double close(Double a, Double b, String what) {
        if (a == null || b == null) {
            assertThat(b).as(what).isEqualTo(a);
            return 0;
        }
        assertThat(b).as(what).isCloseTo(a, within(1e-6));
        return Math.abs(a - b);
    }

    private static double items(Map<String, List<Double>> a, Map<String, List<Double>> b, String what) {
        assertThat(b.keySet()).as(what).containsExactlyElementsOf(a.keySet());
        double d = 0;
        for (String k : a.keySet()) {
            assertThat(b.get(k)).as(what + " " + k).hasSameSizeAs(a.get(k));
            for (int i = 0; i < a.get(k).size(); i++) {
                d = Math.max(d, close(a.get(k).get(i), b.get(k).get(i), what + " " + k + " " + i));
            }
        }
        return d;
    }
}
