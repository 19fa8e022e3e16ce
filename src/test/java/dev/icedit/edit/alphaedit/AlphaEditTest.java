package dev.icedit.edit.alphaedit;

import static dev.icedit.testing.HostMatrices.device;
import static dev.icedit.testing.HostMatrices.eigen;
import static dev.icedit.testing.HostMatrices.gaussian;
import static dev.icedit.testing.HostMatrices.host;
import static dev.icedit.testing.HostMatrices.leak;
import static dev.icedit.testing.HostMatrices.relative;
import static dev.icedit.testing.HostMatrices.split;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.edit.Editors;
import dev.icedit.edit.locate.MlpProjection;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.edit.memit.Memit;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.Backend;
import dev.icedit.testing.Golden;
import dev.icedit.testing.HostMatrices.Eigen;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AlphaEdit's update against the paper's closed form, computed here independently on the host with EJML (the
 * non-symmetric form R K^T P (K_p K_p^T P + K K^T P + alpha I)^-1, which the method never evaluates), on hand-made
 * matrices and on real edits of tiny models of both weight layouts, the second edit of a sequence carrying the
 * first one's keys. Each update leaves the output at every preserved key unchanged.
 */
class AlphaEditTest {
    @TempDir Path tmp;

    /** The paper's equation: R K^T P (G P + K K^T P + alpha I)^-1 (C, I), with plain host matrices. */
    static DMatrixRMaj closedForm(DMatrixRMaj p, DMatrixRMaj k, DMatrixRMaj r, DMatrixRMaj g, double alpha) {
        int width = p.numRows;
        DMatrixRMaj kkt = new DMatrixRMaj(width, width);
        CommonOps_DDRM.multTransB(k, k, kkt);
        DMatrixRMaj sum = new DMatrixRMaj(width, width);
        CommonOps_DDRM.add(kkt, g, sum);
        DMatrixRMaj system = new DMatrixRMaj(width, width);
        CommonOps_DDRM.mult(sum, p, system); // G P + K K^T P
        for (int i = 0; i < width; i++) {
            system.add(i, i, alpha);
        }
        DMatrixRMaj inv = new DMatrixRMaj(width, width);
        assertThat(CommonOps_DDRM.invert(system, inv)).isTrue();
        DMatrixRMaj rkt = new DMatrixRMaj(r.numRows, width);
        CommonOps_DDRM.multTransB(r, k, rkt);
        DMatrixRMaj rktp = new DMatrixRMaj(r.numRows, width);
        CommonOps_DDRM.mult(rkt, p, rktp);
        DMatrixRMaj out = new DMatrixRMaj(r.numRows, width);
        CommonOps_DDRM.mult(rktp, inv, out);
        return out;
    }

    @Test
    void theUpdateOnAHandMadeCaseIsThePapersClosedForm() {
        SplittableRandom r = new SplittableRandom(5);
        int width = 16;
        DMatrixRMaj c = gaussian(width, 40, r);
        DMatrixRMaj moment = new DMatrixRMaj(width, width);
        CommonOps_DDRM.multTransB(c, c, moment);
        for (int i = 0; i < width; i++) { // a spectrum with a clear gap: 6 small eigenvalues
            for (int j = 0; j < width; j++) {
                moment.set(i, j, moment.get(i, j) / 40);
            }
        }
        Eigen e = eigen(moment);
        double[] v = e.values();
        double threshold = (v[5] + v[6]) / 2;
        DMatrixRMaj[] parts = split(e, threshold);
        DMatrixRMaj p = parts[0];
        DMatrixRMaj k = gaussian(width, 3, r); // (I, N)
        DMatrixRMaj res = gaussian(5, 3, r); // (C, N)
        DMatrixRMaj kp = gaussian(width, 4, r); // earlier edits' keys
        DMatrixRMaj g = new DMatrixRMaj(width, width);
        CommonOps_DDRM.multTransB(kp, kp, g);
        double alpha = 0.7;
        DMatrixRMaj expected = closedForm(p, k, res, g, alpha);
        try (NDManager m = Backend.newManager(Backend.defaultDevice())) {
            DMatrixRMaj got = host(AlphaEdit.update(device(m, p), device(m, k), device(m, res), device(m, g), alpha));
            double diff = relative(got, expected);
            double leak = leak(got, parts[1]);
            System.out.printf("AlphaEditTest (hand-made): relative difference to the closed form %.2e, largest"
                    + " |dW k| / (|dW| |k|) over preserved directions %.2e%n", diff, leak);
            assertThat(diff).isLessThan(1e-10);
            assertThat(leak).isLessThan(1e-10);
            // without earlier keys: G = 0
            DMatrixRMaj none = closedForm(p, k, res, new DMatrixRMaj(width, width), alpha);
            assertThat(relative(host(AlphaEdit.update(device(m, p), device(m, k), device(m, res), null, alpha)), none))
                    .isLessThan(1e-10);
        }
    }

    static AlphaEditHyperParams params(Path corpus, Path stats, double threshold) {
        return new AlphaEditHyperParams("AlphaEdit", List.of(0, 1), null, 6, 0.5, null, 1e-3, 4, 0.0625, threshold, 2.0,
                List.of(List.of(3, 2)), corpus.toString(), 40, "float32", stats.toString(), 0L);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void aSequenceOfEditsSolvesTheClosedFormWithTheEarlierKeysAndKeepsThePreservedKeys(String family) throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 3);
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            // the threshold: between the lower and upper quartiles of both layers' spectra, so both have a null space
            AlphaEditHyperParams probe = params(corpus, tmp.resolve("stats"), 1);
            Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, probe.layers(), probe.mom2(),
                    EditProgress.NONE);
            double lo = 0;
            double hi = Double.POSITIVE_INFINITY;
            List<Eigen> spectra = new ArrayList<>();
            for (int layer : probe.layers()) {
                Eigen e = eigen(host(stats.get(layer).moment()));
                spectra.add(e);
                int n = e.values().length;
                lo = Math.max(lo, e.values()[n / 4]);
                hi = Math.min(hi, e.values()[3 * n / 4]);
            }
            stats.values().forEach(SecondMoments.Stats::close);
            assertThat(lo).isLessThan(hi);
            double threshold = Math.sqrt(lo * hi);
            AlphaEdit alpha = (AlphaEdit) Editors.method("AlphaEdit").create(params(corpus, tmp.resolve("stats"),
                    threshold));

            EditJournal journal = new EditJournal(model);
            try (EditedKeys earlier = new EditedKeys()) {
                try (EditResult first = alpha.edit(model, List.of(new EditRequest("The Eiffel Tower is located in",
                        "Rome", "Eiffel Tower", List.of())), EditProgress.NONE, earlier)) {
                    assertThat(first.editedKeys()).hasSize(2);
                    first.editedKeys().values().forEach(k -> assertThat(k.getShape().getShape())
                            .containsExactly(1, model.config().intermediateSize()));
                    AppliedEdit applied = journal.apply(first);
                    assertThat(applied.weightNames()).hasSize(2);
                    earlier.add(first.editedKeys());
                }
                List<EditRequest> second = List.of(new EditRequest("Danielle Darrieux speaks", "English",
                        "Danielle Darrieux", List.of()), new EditRequest("The mother tongue of Thomas Joannes"
                                + " Stieltjes is", "English", "Thomas Joannes Stieltjes", List.of()));
                Weights before = model.currentWeights();
                try (Memit.Computation c = alpha.compute(model, second, EditProgress.NONE, earlier);
                        NDScope scope = new NDScope()) {
                    assertThat(c.layers).hasSize(2);
                    for (int j = 0; j < c.layers.size(); j++) {
                        Memit.LayerUpdate u = c.layers.get(j);
                        DMatrixRMaj[] parts = split(spectra.get(j), threshold);
                        DMatrixRMaj g = host(earlier.gram(u.weight()));
                        DMatrixRMaj expected = closedForm(parts[0], host(u.keys()), host(u.residuals()), g, 2.0);
                        DMatrixRMaj got = host(u.update());
                        double diff = relative(got, expected);
                        double leak = leak(got, parts[1]);
                        System.out.printf("AlphaEditTest (%s, layer %d, null space %d of %d): relative difference"
                                + " to the closed form %.2e, largest |dW k| / (|dW| |k|) over %d preserved directions"
                                + " %.2e%n", family, u.layer(), parts[0].numRows - parts[1].numCols, parts[0].numRows,
                                diff, parts[1].numCols, leak);
                        assertThat(CommonOps_DDRM.elementMaxAbs(got)).isGreaterThan(0);
                        assertThat(diff).isLessThan(1e-6);
                        assertThat(leak).isLessThan(1e-5);
                        // the installed weight is W + dW in the checkpoint's layout
                        NDArray applied = MlpProjection.matrix(model, before.with(c.newWeights), u.layer())
                                .sub(MlpProjection.matrix(model, before, u.layer()));
                        assertThat(applied.sub(u.update()).norm().getDouble() / u.update().norm().getDouble())
                                .isLessThan(1e-4);
                    }
                    assertThat(c.editedKeys).hasSize(2);
                    c.editedKeys.values().forEach(k -> assertThat(k.getShape().getShape())
                            .containsExactly(2, model.config().intermediateSize()));
                }
            }
            journal.revertAll();
        }
    }
}
