package dev.icedit.edit.memit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.Editor;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.locate.ContextTemplates;
import dev.icedit.edit.locate.Keys;
import dev.icedit.edit.locate.LocateChecks;
import dev.icedit.edit.locate.MlpProjection;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.edit.locate.SubjectLocator;
import dev.icedit.edit.locate.SubjectLocator.Located;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MEMIT (Meng et al., ICLR 2023, arXiv 2210.07229): many facts at once, spread over the MLP output projections of
 * several layers l_1 &lt; ... &lt; l_L. For N facts:
 * <ol>
 *   <li>z_i (C): for each fact, the residual stream leaving layer l_L at the subject's token plus the delta that
 *       makes the model predict the target ({@link TargetOptimizer}, compute_z).
 *   <li>For each layer l_j in ascending order, on the weights as updated so far: the keys K (I, N) of the facts at
 *       l_j ({@link Keys}, compute_ks), the residuals R = (Z - H) / (L - j + 1) (C, N), H being the residual stream
 *       now leaving l_L at the subjects' tokens, and the update
 *       <pre>  dW = R K^T (lambda C + K K^T)^-1   (C, I)</pre>
 *       the solution of min |dW K - R|^2 + lambda tr(dW C dW^T), that is of the normal equations
 *       dW (lambda C + K K^T) = R K^T; lambda is mom2_update_weight and C = E[k k^T] ({@link SecondMoments}).
 * </ol>
 * Each layer takes its share of what is left, so the last layer closes the gap that the earlier ones leave.
 *
 * <p>Shapes: N facts, C hidden size, I key width.
 */
public final class Memit implements Editor {
    public static final String NAME = "MEMIT";
    private final MemitHyperParams hp;

    /**
     * What MEMIT's pipeline reads of a method's hyper-parameters, so that methods built on it (AlphaEdit) share it:
     * the layers, the target-vector settings, the context prefixes, the statistics, and whether the keys of the
     * facts are read again on the edited weights at the end ({@link Computation#editedKeys}).
     */
    public record Plan(String method, List<Integer> layers, TargetOptimizer.Settings value, Integer vLossLayer,
            List<List<Integer>> contextTemplates, long seed, Mom2Settings mom2, boolean keysAfterEdit) {}

    /**
     * How one layer's update dW (C, I) float64 is solved, in the caller's scope, from the layer's statistics, the
     * facts' keys K (I, N) and the residuals R (C, N) it is asked to write.
     */
    @FunctionalInterface
    public interface LayerSolver {
        NDArray update(int layer, String weight, SecondMoments.Stats stats, NDArray keys, NDArray residuals);
    }

    public Memit(MemitHyperParams hp) {
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

    public MemitHyperParams params() {
        return hp;
    }

    /** One layer's update, float64, owned by this record: K (I, N), R (C, N), C (I, I) and dW (C, I). */
    public record LayerUpdate(int layer, String weight, NDArray keys, NDArray residuals, NDArray covariance,
            NDArray update) implements AutoCloseable {
        @Override
        public void close() {
            keys.close();
            residuals.close();
            covariance.close();
            update.close();
        }
    }

    /** All that an edit computed: the new weights and each layer's update, owned by this object until taken. */
    public static final class Computation implements AutoCloseable {
        public final Map<String, NDArray> newWeights = new LinkedHashMap<>();
        public final List<LayerUpdate> layers = new ArrayList<>();
        public final List<Map<String, Object>> statistics = new ArrayList<>();
        public final List<List<Double>> losses = new ArrayList<>();
        /** With {@link Plan#keysAfterEdit}: each weight's keys of the facts (N, I) float64 on the edited weights. */
        public final Map<String, NDArray> editedKeys = new LinkedHashMap<>();
        public String baseFingerprint;

        @Override
        public void close() {
            newWeights.values().forEach(NDArray::close);
            layers.forEach(LayerUpdate::close);
            editedKeys.values().forEach(NDArray::close);
        }
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        long start = System.nanoTime();
        try (Computation c = compute(model, requests, progress)) {
            Map<String, Object> reported = new LinkedHashMap<>(hyperParameters());
            reported.put("mom2_stats", c.statistics);
            Map<String, NDArray> weights = new LinkedHashMap<>(c.newWeights);
            c.newWeights.clear();
            return new EditResult(NAME, reported, requests, weights, c.baseFingerprint, TargetOptimizer.meanLosses(c.losses),
                    (System.nanoTime() - start) / 1e9);
        }
    }

    @Override
    public void check(LanguageModel model, List<EditRequest> requests) {
        LocateChecks.check(model, requests, hp.layers(), hp.vLossLayer(), NAME);
    }

    /** Runs MEMIT and keeps what each layer's update computed (for tests and reports). */
    public Computation compute(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        return compute(model, requests, progress, hp.plan(),
                (layer, weight, s, keys, residuals) -> batchedUpdate(s.moment(), keys, residuals, hp.mom2UpdateWeight()));
    }

    /** MEMIT's pipeline with another method's settings and per-layer solve. */
    public static Computation compute(LanguageModel model, List<EditRequest> requests, EditProgress progress,
            Plan plan, LayerSolver solver) {
        LocateChecks.check(model, requests, plan.layers(), plan.vLossLayer(), plan.method());
        List<String> subjects = SubjectLocator.subjects(requests, plan.method());
        List<String> names = new ArrayList<>();
        for (int layer : plan.layers()) {
            names.add(MlpProjection.weightName(model, layer, plan.method()));
        }
        int zLayer = plan.layers().get(plan.layers().size() - 1);
        Computation c = new Computation();
        Map<Integer, SecondMoments.Stats> stats = Map.of();
        NDArray targets = null;
        // before the lease: the statistics read the weights as loaded, and a computation of minutes must not hold
        // back other threads' installs
        progress.phase("covariance statistics");
        stats = SecondMoments.get(model, plan.layers(), plan.mom2(), progress);
        try (LanguageModel.Lease lease = model.lease()) {
            for (SecondMoments.Stats s : stats.values()) {
                c.statistics.add(s.summary());
                checkTokens(s, model.config().intermediateSize());
            }
            Weights base = lease.weights();
            c.baseFingerprint = LanguageModel.fingerprint(base, names);
            progress.phase("context prefixes");
            List<List<String>> groups = ContextTemplates.generate(model, base, plan.contextTemplates(), plan.seed());
            List<String> prefixes = ContextTemplates.flat(groups);
            targets = targets(model, base, requests, subjects, prefixes, zLayer, plan.value(), c, progress); // (C, N)
            List<Located> bare = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                bare.add(SubjectLocator.locate(model.tokenizer(), "", requests.get(i).prompt(), subjects.get(i),
                        plan.value().factToken()));
            }
            for (int j = 0; j < plan.layers().size(); j++) {
                int layer = plan.layers().get(j);
                progress.phase("update of layer " + layer);
                Weights w = base.with(c.newWeights);
                LayerUpdate u;
                try (NDScope scope = new NDScope()) {
                    NDArray keys = Keys.compute(model, w, requests, subjects, groups, layer,
                            plan.value().factToken()).transpose(); // (I, N)
                    NDArray now = Keys.read(model, w, bare, ActivationSite.residualOut(zLayer))
                            .toType(DataType.FLOAT64, false).transpose(); // (C, N)
                    NDArray residuals = targets.sub(now).div(plan.layers().size() - j); // (C, N)
                    NDArray cov = stats.get(layer).moment().duplicate(); // (I, I)
                    NDArray update = solver.update(layer, names.get(j), stats.get(layer), keys, residuals); // (C, I)
                    NDScope.unregister(keys, residuals, cov, update);
                    u = new LayerUpdate(layer, names.get(j), keys, residuals, cov, update);
                }
                c.layers.add(u);
                NDArray updated = MlpProjection.plus(model, w, layer, u.update());
                NDArray previous = c.newWeights.put(u.weight(), updated);
                if (previous != null) {
                    previous.close();
                }
            }
            if (plan.keysAfterEdit()) {
                progress.phase("keys on the edited weights");
                Weights edited = base.with(c.newWeights);
                for (int j = 0; j < plan.layers().size(); j++) {
                    try (NDScope scope = new NDScope()) {
                        NDArray keys = Keys.compute(model, edited, requests, subjects, groups, plan.layers().get(j),
                                plan.value().factToken()); // (N, I)
                        NDScope.unregister(keys);
                        c.editedKeys.put(names.get(j), keys);
                    }
                }
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        } finally {
            stats.values().forEach(SecondMoments.Stats::close);
            if (targets != null) {
                targets.close();
            }
        }
    }

    /** z_i for each fact (C, N), float64, outside any scope. */
    private static NDArray targets(LanguageModel model, Weights w, List<EditRequest> requests, List<String> subjects,
            List<String> prefixes, int zLayer, TargetOptimizer.Settings value, Computation c, EditProgress progress) {
        int steps = value.numGradSteps();
        int total = requests.size() * steps;
        try (NDScope scope = new NDScope()) {
            List<NDArray> zs = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                if (progress.cancelled()) {
                    throw new IceditException("edit cancelled after " + i + " target vector(s)");
                }
                int offset = i * steps;
                progress.phase("target vector " + (i + 1) + "/" + requests.size());
                try (TargetOptimizer.Result z = TargetOptimizer.optimise(model, w, requests.get(i), subjects.get(i),
                        prefixes, zLayer, ActivationSite.Kind.RESIDUAL_OUT, value,
                        (step, n, loss) -> progress.step(offset + step, total, loss))) {
                    zs.add(z.target().toType(DataType.FLOAT64, false)); // (C)
                    c.losses.add(z.losses());
                }
            }
            NDArray out = NDArrays.stack(new NDList(zs), 1); // (C, N)
            NDScope.unregister(out);
            return out;
        }
    }

    /**
     * MEMIT's least-squares update dW = R K^T (lambda C + K K^T)^-1 (C, I), float64, from the statistics C (I, I),
     * keys K (I, N) and residuals R (C, N).
     */
    public static NDArray batchedUpdate(NDArray cov, NDArray keys, NDArray residuals, double lambda) {
        NDArray a = cov.mul(lambda).add(keys.matMul(keys.transpose())); // (I, I)
        NDArray inv = a.inverse(); // (I, I)
        if (inv.isNaN().any().getBoolean() || inv.isInfinite().any().getBoolean()) {
            throw new IceditException("MEMIT's system lambda C + K K^T is singular; raise mom2_n_samples or"
                    + " mom2_update_weight");
        }
        return residuals.matMul(keys.transpose()).matMul(inv); // (C, I)
    }

    private static void checkTokens(SecondMoments.Stats s, int width) {
        if (s.tokens() < width) {
            throw new IceditException("the covariance statistics of layer " + s.layer() + " rest on " + s.tokens()
                    + " tokens, fewer than the key's " + width + " dimensions; raise mom2_n_samples or give a larger"
                    + " corpus (" + s.file() + ")");
        }
    }
}
