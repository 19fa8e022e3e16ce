package dev.icedit.eval.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.Backend;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Two workers sharing one {@link Befores}, each measuring with its own copy of the tiny golden llama and asking for
 * the cases out of order, get the pre-edit observations a sequential run gets, to the bit (as JSON), measured in the
 * same batches: consecutive runs of cases, whoever asks first.
 */
class BeforesTest {
    static final Path MODEL = Path.of("src/test/resources/golden/llama");
    static final Path DATA = Path.of("src/test/resources/eval/six-zsre.json");

    @Test
    void workersSharingOneBeforesGetTheObservationsOfASequentialRun() throws Exception {
        List<EvalCase> cases = DatasetLoader.load(DATA).select(0, null);
        assertThat(cases).hasSize(6);
        try (LanguageModel a = LanguageModel.load(MODEL); LanguageModel b = LanguageModel.load(MODEL)) {
            CaseMeasurer first = new CaseMeasurer(a, a.currentWeights(), 40, 0, Protocol.BOTH);
            CaseMeasurer second = new CaseMeasurer(b, b.currentWeights(), 40, 0, Protocol.BOTH);
            Befores sequential = new Befores(cases, c -> true, 2, null);
            List<String> expected = cases.stream().map(c -> json(sequential.take(first, c))).toList();

            Befores shared = new Befores(cases, c -> true, 2, null);
            Map<Integer, String> got = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    Backend.prepareThread();
                    for (int i : List.of(5, 1, 3)) {
                        got.put(i, json(shared.take(second, cases.get(i))));
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            other.start();
            for (int i : List.of(0, 4, 2)) {
                got.put(i, json(shared.take(first, cases.get(i))));
            }
            other.join();
            assertThat(failure.get()).isNull();
            for (int i = 0; i < cases.size(); i++) {
                assertThat(got.get(i)).as("case " + i).isEqualTo(expected.get(i));
            }
            // the same batches (on this tiny model a batch's other rows do not change a case's numbers, so this is
            // what shows it): pairs of consecutive cases, whichever worker formed them
            assertThat(sequential.batches()).containsExactly(List.of(0, 1), List.of(2, 3), List.of(4, 5));
            assertThat(shared.batches()).containsExactlyInAnyOrderElementsOf(sequential.batches());
        }
    }

    private static String json(CaseMeasurer.Observation o) {
        try {
            return RunDirectory.JSON.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
