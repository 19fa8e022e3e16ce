package dev.icedit.edit.alphaedit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.edit.Editor;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.locate.LocateChecks;
import dev.icedit.edit.locate.NullSpace;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.edit.memit.Memit;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AlphaEdit (Fang et al., "AlphaEdit: Null-Space Constrained Knowledge Editing for Language Models", ICLR 2025,
 * arXiv 2410.02355): MEMIT's edit with every layer's update projected onto the null space of the preserved keys, so
 * that it leaves the MLP's output at those keys unchanged, and with the keys of the earlier edits of a sequence in
 * its objective.
 *
 * <p>The target vectors, keys and residuals are MEMIT's ({@link Memit#compute(LanguageModel, List, EditProgress,
 * Memit.Plan, Memit.LayerSolver)}). With P (I, I) the projector onto the eigenvectors of the layer's key statistics
 * C whose eigenvalues are below {@code nullspace_threshold} ({@link NullSpace}), K (I, N) this edit's keys, R (C, N)
 * the layer's share of the residuals and K_p the keys written by earlier edits (G = K_p K_p^T from
 * {@link EditedKeys}), the update minimises
 *
 * <pre>  |(W + dW P) K - (W K + R)|^2 + alpha |dW P|^2 + |dW P K_p|^2      alpha = L2</pre>
 *
 * whose solution (the paper's equation 13, the released code's {@code torch.linalg.solve}) is
 *
 * <pre>  dW P = R K^T P (K_p K_p^T P + K K^T P + alpha I)^-1  =  R K^T P (P A P + alpha I)^-1,   A = K K^T + G</pre>
 *
 * The second form follows from P (A P + alpha I) = (P A P + alpha I) P; its matrix is symmetric positive definite,
 * and the update it gives is exactly right-multiplied by P, so (dW) k = 0 for every preserved key k (P k = 0).
 *
 * <p>After the update the keys of this edit's facts are read again on the edited weights (as the released code
 * does before adding them to {@code cache_c}) and returned in {@link EditResult#editedKeys()}: whoever installs the
 * edit adds them to the sequence's {@link EditedKeys}. The method itself keeps no state.
 *
 * <p>Shapes: N facts, C hidden size, I key width.
 */
public final class AlphaEdit implements Editor {
    public static final String NAME = "AlphaEdit";
    private final AlphaEditHyperParams hp;

    public AlphaEdit(AlphaEditHyperParams hp) {
        this.hp = hp;
    }

    @Override
    public String method() {
        return NAME;
    }

    @Override
    public Map<String, Object> hyperParameters() {
        return HyperParams.asMap(hp);
    }

    public AlphaEditHyperParams params() {
        return hp;
    }

    /** A single edit, or the first of a sequence: no earlier keys. */
    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        try (EditedKeys none = new EditedKeys()) {
            return edit(model, requests, progress, none);
        }
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress, EditedKeys earlier) {
        long start = System.nanoTime();
        List<Map<String, Object>> nullSpaces = new ArrayList<>();
        try (Memit.Computation c = compute(model, requests, progress, earlier, nullSpaces)) {
            Map<String, Object> reported = new LinkedHashMap<>(hyperParameters());
            reported.put("mom2_stats", c.statistics);
            reported.put("null_space", nullSpaces);
            reported.put("earlier_edits", earlier.edits());
            Map<String, NDArray> weights = new LinkedHashMap<>(c.newWeights);
            c.newWeights.clear();
            Map<String, NDArray> keys = new LinkedHashMap<>(c.editedKeys);
            c.editedKeys.clear();
            return new EditResult(NAME, reported, requests, weights, c.baseFingerprint,
                    TargetOptimizer.meanLosses(c.losses), (System.nanoTime() - start) / 1e9, keys);
        }
    }

    @Override
    public void check(LanguageModel model, List<EditRequest> requests) {
        LocateChecks.check(model, requests, hp.layers(), hp.vLossLayer(), NAME);
    }

    /** Runs AlphaEdit and keeps what each layer's update computed (for tests and reports). */
    public Memit.Computation compute(LanguageModel model, List<EditRequest> requests, EditProgress progress,
            EditedKeys earlier) {
        return compute(model, requests, progress, earlier, new ArrayList<>());
    }

    private Memit.Computation compute(LanguageModel model, List<EditRequest> requests, EditProgress progress,
            EditedKeys earlier, List<Map<String, Object>> nullSpaces) {
        return Memit.compute(model, requests, progress, hp.plan(), (layer, weight, stats, keys, residuals) -> {
            try (NullSpace.Projector p = NullSpace.of(stats, hp.nullspaceThreshold())) {
                Map<String, Object> s = new LinkedHashMap<>(p.summary());
                s.put("layer", layer);
                nullSpaces.add(s);
                return update(p.matrix(), keys, residuals, earlier.gram(weight), hp.l2());
            }
        });
    }

    /**
     * The update dW = R K^T P (P (K K^T + G) P + alpha I)^-1 (C, I), float64, in the caller's scope, from the
     * projector P (I, I), the keys K (I, N), the residuals R (C, N), the earlier keys' G = K_p K_p^T (I, I, or null
     * for none) and alpha = L2.
     */
    public static NDArray update(NDArray projector, NDArray keys, NDArray residuals, NDArray earlierGram,
            double alpha) {
        int width = (int) projector.getShape().get(0);
        NDArray a = keys.matMul(keys.transpose()); // (I, I)
        if (earlierGram != null) {
            a = a.add(earlierGram.toType(DataType.FLOAT64, false));
        }
        NDArray system = projector.matMul(a).matMul(projector)
                .add(projector.getManager().eye(width, width, 0, DataType.FLOAT64).mul(alpha)); // (I, I)
        NDArray inv = system.inverse(); // (I, I)
        if (inv.isNaN().any().getBoolean() || inv.isInfinite().any().getBoolean()) {
            throw new IceditException("AlphaEdit's system P (K K^T + K_p K_p^T) P + L2 I is singular; raise L2");
        }
        return residuals.matMul(keys.transpose()).matMul(projector).matMul(inv); // (C, I)
    }
}
