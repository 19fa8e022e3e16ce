package dev.icedit.edit.tuning;

import static dev.icedit.testing.HostMatrices.eigen;
import static dev.icedit.testing.HostMatrices.host;
import static dev.icedit.testing.HostMatrices.leak;
import static dev.icedit.testing.HostMatrices.split;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.edit.Editor;
import dev.icedit.edit.Editors;
import dev.icedit.edit.locate.MlpProjection;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.Golden;
import dev.icedit.testing.HostMatrices.Eigen;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code null_space: true} in the tuning loop on tiny models of both weight layouts (GPT-2 stores the matrix
 * transposed): with the clamp out of reach, the change leaves the output at every preserved key as it was (the
 * preserved directions found here independently with EJML); a null space spanning every direction gives the
 * method's result bit for bit; an empty one is refused; and with {@code null_space_edited_keys} a second edit
 * leaves the keys of the first alone.
 */
class NullSpaceTuningTest {
    static final int LAYER = 1;
    @TempDir Path tmp;

    TuningHyperParams ftm(double threshold, boolean nullSpace, boolean editedKeys, Path corpus) {
        TuningHyperParams hp = new TuningHyperParams("FT-M", List.of(LAYER), 6, 1, 1e-2, 0.0, 10.0, null, null, null,
                null, TuningHyperParams.FT_M, null, 0L);
        return hp.withNullSpace(nullSpace, threshold, editedKeys, corpus.toString(), 40, tmp.resolve("stats").toString());
    }

    /** The spectrum of the edited layer's statistics, as the method will read them. */
    Eigen spectrum(LanguageModel model, TuningHyperParams hp) {
        Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, List.of(LAYER), hp.mom2(), EditProgress.NONE);
        try {
            return eigen(host(stats.get(LAYER).moment()));
        } finally {
            stats.values().forEach(SecondMoments.Stats::close);
        }
    }

    static DMatrixRMaj change(LanguageModel model, Weights before, EditResult r) {
        NDArray after = MlpProjection.matrix(model, before.with(r.newWeights()), LAYER);
        return host(after.sub(MlpProjection.matrix(model, before, LAYER))); // (C, I)
    }

    static final List<EditRequest> FIRST = List.of(EditRequest.of("The Eiffel Tower is located in", "Rome"));
    static final List<EditRequest> SECOND = List.of(EditRequest.of("Danielle Darrieux speaks", "English"));

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void theChangeLeavesThePreservedKeysAloneAndTheEdgeCasesBehave(String family) throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 3);
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            Eigen e = spectrum(model, ftm(1, true, false, corpus));
            double threshold = e.values()[e.values().length / 2];
            DMatrixRMaj preserved = split(e, threshold)[1];
            Weights before = model.currentWeights();

            Editor plain = Editors.method("FT-M").create(ftm(threshold, false, false, corpus));
            Editor projected = Editors.method("FT-M").create(ftm(threshold, true, false, corpus));
            try (EditResult p = plain.edit(model, FIRST, EditProgress.NONE);
                    EditResult q = projected.edit(model, FIRST, EditProgress.NONE)) {
                double plainLeak = leak(change(model, before, p), preserved);
                double projectedLeak = leak(change(model, before, q), preserved);
                System.out.printf("NullSpaceTuningTest (%s): largest |dW k| / (|dW| |k|) over %d preserved"
                        + " directions: %.2e without null_space, %.2e with it%n", family, preserved.numCols, plainLeak,
                        projectedLeak);
                assertThat(plainLeak).isGreaterThan(1e-2);
                assertThat(projectedLeak).isLessThan(1e-5);
                assertThat(q.lossPerStep().get(q.lossPerStep().size() - 1)).isLessThan(q.lossPerStep().get(0));
                assertThat(q.hyperParameters()).containsKey("null_space_dims");
                assertThat(q.editedKeys()).isEmpty();
            }

            // every direction free: P = I, the method exactly as without the option
            Editor identity = Editors.method("FT-M").create(ftm(1e12, true, false, corpus));
            try (EditResult p = plain.edit(model, FIRST, EditProgress.NONE);
                    EditResult q = identity.edit(model, FIRST, EditProgress.NONE)) {
                for (String n : p.newWeights().keySet()) {
                    assertThat(q.newWeights().get(n).toByteArray()).isEqualTo(p.newWeights().get(n).toByteArray());
                }
                assertThat(q.lossPerStep()).isEqualTo(p.lossPerStep());
            }

            // no direction free: nothing could change, so the edit is refused
            Editor empty = Editors.method("FT-M").create(ftm(1e-30, true, false, corpus));
            assertThatThrownBy(() -> empty.edit(model, FIRST, EditProgress.NONE)).isInstanceOf(IceditException.class)
                    .hasMessageContaining("null space is empty").hasMessageContaining("nullspace_threshold");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void withEditedKeysALaterEditLeavesTheKeysOfAnEarlierOneAlone(String family) throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 3);
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            Eigen e = spectrum(model, ftm(1, true, true, corpus));
            double threshold = e.values()[e.values().length / 2];
            Editor editor = Editors.method("FT-M").create(ftm(threshold, true, true, corpus));
            EditJournal journal = new EditJournal(model);
            try (EditedKeys earlier = new EditedKeys()) {
                NDArray firstKeys;
                try (EditResult first = editor.edit(model, FIRST, EditProgress.NONE, earlier)) {
                    String name = model.config().mlpOutputWeight(LAYER);
                    int targetTokens = FIRST.get(0).tokens(model.tokenizer()).tokens().length;
                    firstKeys = first.editedKeys().get(name).duplicate();
                    assertThat(firstKeys.getShape().getShape()).containsExactly(targetTokens,
                            model.config().intermediateSize());
                    journal.apply(first);
                    earlier.add(first.editedKeys());
                    assertThat(earlier.count(name)).isEqualTo(targetTokens);
                }
                Weights before = model.currentWeights();
                try (EditResult second = editor.edit(model, SECOND, EditProgress.NONE, earlier)) {
                    DMatrixRMaj keys = host(firstKeys.transpose()); // (I, n)
                    for (int j = 0; j < keys.numCols; j++) { // unit columns, as leak() expects
                        double norm = 0;
                        for (int i = 0; i < keys.numRows; i++) {
                            norm += keys.get(i, j) * keys.get(i, j);
                        }
                        for (int i = 0; i < keys.numRows; i++) {
                            keys.set(i, j, keys.get(i, j) / Math.sqrt(norm));
                        }
                    }
                    double l = leak(change(model, before, second), keys);
                    System.out.printf("NullSpaceTuningTest (%s): largest |dW2 k1| / (|dW2| |k1|) over the first"
                            + " edit's %d keys: %.2e%n", family, keys.numCols, l);
                    assertThat(l).isLessThan(1e-5);
                }
                firstKeys.close();
            }
            journal.revertAll();
        }
    }
}
