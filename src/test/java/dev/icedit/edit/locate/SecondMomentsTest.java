package dev.icedit.edit.locate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditProgress;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.Golden;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The covariance statistics on the tiny golden llama: their value, the cache, and resuming a stopped run. */
class SecondMomentsTest {
    @TempDir Path tmp;
    Path corpus;
    LanguageModel model;

    @BeforeEach
    void setUp() throws Exception {
        corpus = TestCorpus.write(tmp.resolve("corpus"), 3, 250, 7);
        model = LanguageModel.load(Golden.ROOT.resolve("llama"));
    }

    @AfterEach
    void tearDown() {
        model.close();
        SecondMoments.checkpointEvery = Duration.ofSeconds(60);
    }

    /** Counts the samples each progress report says are done, and can stop the run after some reports. */
    static final class Recorder implements EditProgress {
        final List<Long> done = new ArrayList<>();
        final int cancelAfter;

        Recorder(int cancelAfter) {
            this.cancelAfter = cancelAfter;
        }

        @Override
        public void work(String task, long d, long total) {
            done.add(d);
        }

        @Override
        public boolean cancelled() {
            return done.size() > cancelAfter;
        }
    }

    @Test
    void momentIsTheMeanOfKKTransposeOverTheCorpusTokensAndIsCached() {
        Mom2Settings s = new Mom2Settings(corpus.toString(), 32, "float64", tmp.resolve("stats").toString());
        Recorder first = new Recorder(Integer.MAX_VALUE);
        try (NDScope scope = new NDScope(); LanguageModel.Lease lease = model.lease()) {
            Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, List.of(2, 0), s, first);
            assertThat(stats).containsOnlyKeys(0, 2);
            assertThat(first.done).contains(0L, 32L);
            SecondMoments.Stats layer0 = stats.get(0);
            assertThat(layer0.fromCache()).isFalse();
            assertThat(layer0.samples()).isEqualTo(32);
            assertThat(layer0.file()).exists().hasFileName(SecondMoments.file(model, 0, s).getFileName().toString());
            assertThat(layer0.file().toString()).contains(model.fingerprint()).contains("layer0.mlp_in.corpus-")
                    .contains(".n32.float64.");

            // the same windows read directly: C = sum_t k_t k_t^T / tokens
            int width = model.config().intermediateSize();
            List<long[]> windows = new ArrayList<>();
            try (CorpusWindows w = new CorpusWindows(TextCorpus.open(corpus), model.tokenizer(),
                    SecondMoments.windowTokens(model), 32)) {
                for (int i = 0; i < 32; i++) {
                    windows.add(w.next());
                }
            }
            NDArray[] sums = new NDArray[3];
            long tokens = 0;
            // windows of one length go in one pass, without padding
            Map<Integer, List<long[]>> byLength = new java.util.TreeMap<>();
            windows.forEach(w -> byLength.computeIfAbsent(w.length, n -> new ArrayList<>()).add(w));
            for (List<long[]> same : byLength.values()) {
                Hooks hooks = Hooks.NONE;
                for (int layer : List.of(0, 2)) {
                    hooks = hooks.and(ActivationSite.mlpIn(layer), (site, x) -> {
                        NDArray k = x.reshape(-1, width).toType(DataType.FLOAT64, false); // (T, I)
                        NDArray kk = k.transpose().matMul(k); // (I, I)
                        sums[site.layer()] = sums[site.layer()] == null ? kk : sums[site.layer()].add(kk);
                        NDScope.unregister(sums[site.layer()]);
                        return x;
                    });
                }
                model.hidden(model.currentWeights(), TokenBatch.leftPadded(same, 0), null, hooks);
                tokens += (long) same.size() * same.get(0).length;
            }
            for (int layer : List.of(0, 2)) {
                NDArray expected = sums[layer].div(tokens);
                SecondMoments.Stats got = stats.get(layer);
                assertThat(got.tokens()).isEqualTo(tokens);
                assertThat(got.moment().sub(expected).norm().getDouble() / expected.norm().getDouble())
                        .isLessThan(1e-6);
            }

            // a second call reads the files and computes nothing
            Recorder second = new Recorder(Integer.MAX_VALUE);
            Map<Integer, SecondMoments.Stats> again = SecondMoments.get(model, List.of(0, 2), s, second);
            assertThat(second.done).isEmpty();
            for (int layer : List.of(0, 2)) {
                assertThat(again.get(layer).fromCache()).isTrue();
                assertThat(again.get(layer).tokens()).isEqualTo(stats.get(layer).tokens());
                assertThat(again.get(layer).moment().contentEquals(stats.get(layer).moment())).isTrue();
            }
            stats.values().forEach(SecondMoments.Stats::close);
            again.values().forEach(SecondMoments.Stats::close);
        }
    }

    @Test
    void aStoppedComputationResumesWhereItStoppedAndGivesTheSameResult() {
        Mom2Settings whole = new Mom2Settings(corpus.toString(), 48, "float32", tmp.resolve("whole").toString());
        Mom2Settings parts = new Mom2Settings(corpus.toString(), 48, "float32", tmp.resolve("parts").toString());
        try (NDScope scope = new NDScope(); LanguageModel.Lease lease = model.lease()) {
            SecondMoments.Stats reference = SecondMoments.get(model, List.of(1), whole, EditProgress.NONE).get(1);

            // stopped after the first batch (16 windows of 128 tokens): the partial sums are on disk
            Recorder stopped = new Recorder(1);
            assertThatThrownBy(() -> SecondMoments.get(model, List.of(1), parts, stopped))
                    .isInstanceOf(IceditException.class).hasMessageContaining("after 16 of 48 samples");
            Path file = SecondMoments.file(model, 1, parts);
            assertThat(file).doesNotExist();
            assertThat(file.resolveSibling(file.getFileName() + ".partial")).exists();

            Recorder resumed = new Recorder(Integer.MAX_VALUE);
            SecondMoments.Stats result = SecondMoments.get(model, List.of(1), parts, resumed).get(1);
            assertThat(resumed.done.get(0)).isEqualTo(16L);
            assertThat(resumed.done).doesNotContain(0L).contains(48L);
            assertThat(result.fromCache()).isFalse();
            assertThat(result.tokens()).isEqualTo(reference.tokens());
            assertThat(result.moment().contentEquals(reference.moment())).isTrue();
            assertThat(file).exists();
            assertThat(file.resolveSibling(file.getFileName() + ".partial")).doesNotExist();
            reference.close();
            result.close();
        }
    }

    @Test
    void periodicCheckpointsLetAKilledRunResume() throws Exception {
        SecondMoments.checkpointEvery = Duration.ZERO;
        Mom2Settings s = new Mom2Settings(corpus.toString(), 48, "float32", tmp.resolve("stats").toString());
        try (NDScope scope = new NDScope(); LanguageModel.Lease lease = model.lease()) {
            SecondMoments.get(model, List.of(1), s, EditProgress.NONE).get(1).close();
            // the partial file written at each batch was replaced by the final one
            Path file = SecondMoments.file(model, 1, s);
            assertThat(file).exists();
            try (var files = Files.list(file.getParent())) {
                assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly(
                        file.getFileName().toString());
            }
        }
    }

    @Test
    void fewSamplesStillSpreadOverTheWholeCorpus() throws Exception {
        Path spread = tmp.resolve("spread");
        Files.createDirectories(spread);
        for (String word : List.of("alpha", "delta", "omega")) {
            Files.writeString(spread.resolve(word + ".txt"), (word + " ").repeat(3000));
        }
        int window = SecondMoments.windowTokens(model);
        List<String> texts = new ArrayList<>();
        try (CorpusWindows w = new CorpusWindows(TextCorpus.open(spread), model.tokenizer(), window, 6)) {
            assertThat(w.stride()).isGreaterThan(1);
            for (long[] ids = w.next(); ids != null && texts.size() < 6; ids = w.next()) {
                assertThat(ids.length).isLessThanOrEqualTo(window);
                assertThat(ids[0]).isEqualTo(model.tokenizer().bosTokenId());
                texts.add(model.tokenizer().decode(ids));
            }
        }
        assertThat(texts).hasSize(6);
        for (String word : List.of("alpha", "delta", "omega")) {
            assertThat(texts).anyMatch(t -> t.contains(word));
        }
    }

    @Test
    void missingCorpusAndBadSettingsFailWithTheSettingNamed() {
        Mom2Settings s = new Mom2Settings(tmp.resolve("nowhere").toString(), 8, "float32", tmp.toString());
        try (LanguageModel.Lease lease = model.lease()) {
            assertThatThrownBy(() -> SecondMoments.get(model, List.of(0), s, EditProgress.NONE))
                    .isInstanceOf(IceditException.class).hasMessageContaining("mom2_dataset")
                    .hasMessageContaining("does not exist");
        }
        assertThatThrownBy(() -> new Mom2Settings("x", 8, "bfloat16", null)).isInstanceOf(IceditException.class)
                .hasMessageContaining("mom2_dtype");
        assertThatThrownBy(() -> new Mom2Settings("x", 0, "float32", null)).isInstanceOf(IceditException.class)
                .hasMessageContaining("mom2_n_samples");
    }
}
