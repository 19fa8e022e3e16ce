package dev.icedit.edit.rome;

import ai.djl.ndarray.NDArray;
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
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.edit.locate.SubjectLocator;
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
 * ROME (Meng et al., NeurIPS 2022, arXiv 2202.05262): a rank-one update of one MLP output projection W (C, I) that
 * makes the key of the subject produce a new value. For one fact and layer:
 * <ol>
 *   <li>k* (I): the mean key at the subject's token over the prompt and its context prefixes ({@link Keys}).
 *   <li>delta (C): the vector that, added to the layer's MLP output at the subject's token, makes the model predict
 *       the target ({@link TargetOptimizer}); v* = W k* + b + delta is the value k* must map to.
 *   <li>u = C^-1 k* (I), C = E[k k^T] from {@link SecondMoments} (u = k* when mom2_adjustment is off).
 *   <li>W' = W + (v* - W k* - b) u^T / (u^T k*) = W + delta u^T / (u^T k*).
 * </ol>
 * Then W' k* + b = v*, and W' x = W x for every x with u^T x = 0: among all updates that write v* at k*, this one
 * changes the outputs on the keys of the statistics' corpus least in the C-weighted least-squares sense. Several
 * requests are edited one after the other, each on the weights the previous ones left, as the released code does;
 * several layers likewise, in ascending order.
 *
 * <p>Differences from the released code: it writes v* at the bare prompt's key (W' k_prompt + b = W k_prompt + b +
 * delta) and normalises u; this writes at k* as the paper's equation does (u's norm cancels).
 */
public final class Rome implements Editor {
    public static final String NAME = "ROME";
    private final RomeHyperParams hp;

    public Rome(RomeHyperParams hp) {
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

    public RomeHyperParams params() {
        return hp;
    }

    /**
     * One rank-one update, float64, owned by this record: k*, the direction u, delta, v* = W k* + b + delta, and the
     * update dW (C, I) = delta u^T / (u^T k*) in the (out, in) orientation.
     */
    public record Update(int layer, String weight, NDArray keyStar, NDArray direction, NDArray delta, NDArray valueStar,
            NDArray update, List<Double> losses, double targetProbability) implements AutoCloseable {
        @Override
        public void close() {
            keyStar.close();
            direction.close();
            delta.close();
            valueStar.close();
            update.close();
        }
    }

    /** All that an edit computed: the new weights and each update, owned by this object until taken. */
    public static final class Computation implements AutoCloseable {
        public final Map<String, NDArray> newWeights = new LinkedHashMap<>();
        public final List<Update> updates = new ArrayList<>();
        public final List<Map<String, Object>> statistics = new ArrayList<>();
        public String baseFingerprint;

        @Override
        public void close() {
            newWeights.values().forEach(NDArray::close);
            updates.forEach(Update::close);
        }
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        long start = System.nanoTime();
        try (Computation c = compute(model, requests, progress)) {
            Map<String, Object> reported = new LinkedHashMap<>(hyperParameters());
            if (!c.statistics.isEmpty()) {
                reported.put("mom2_stats", c.statistics);
            }
            Map<String, NDArray> weights = new LinkedHashMap<>(c.newWeights);
            c.newWeights.clear();
            return new EditResult(NAME, reported, requests, weights, c.baseFingerprint, TargetOptimizer.meanLosses(c.updates.stream().map(Update::losses).toList()),
                    (System.nanoTime() - start) / 1e9);
        }
    }

    @Override
    public void check(LanguageModel model, List<EditRequest> requests) {
        LocateChecks.check(model, requests, hp.layers(), hp.vLossLayer(), NAME);
    }

    /** Runs ROME and keeps what each update computed (for tests and reports). */
    public Computation compute(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        check(model, requests);
        List<String> subjects = SubjectLocator.subjects(requests, NAME);
        List<String> names = new ArrayList<>();
        for (int layer : hp.layers()) {
            names.add(MlpProjection.weightName(model, layer, NAME));
        }
        Computation c = new Computation();
        Map<Integer, SecondMoments.Stats> stats = Map.of();
        Map<Integer, NDArray> inverses = new LinkedHashMap<>();
        try {
            // before the lease: the statistics read the weights as loaded, and a computation of minutes must not
            // hold back other threads' installs
            if (hp.mom2Adjustment()) {
                progress.phase("covariance statistics");
                stats = SecondMoments.get(model, hp.layers(), hp.mom2(), progress);
                for (SecondMoments.Stats s : stats.values()) {
                    c.statistics.add(s.summary());
                    inverses.put(s.layer(), inverse(s, model.config().intermediateSize()));
                }
            }
        } catch (RuntimeException e) {
            stats.values().forEach(SecondMoments.Stats::close);
            inverses.values().forEach(NDArray::close);
            throw e;
        }
        try (LanguageModel.Lease lease = model.lease()) {
            Weights base = lease.weights();
            c.baseFingerprint = LanguageModel.fingerprint(base, names);
            progress.phase("context prefixes");
            List<String> prefixes = ContextTemplates.flat(ContextTemplates.generate(model, base,
                    hp.contextTemplateLengthParams(), hp.seed()));
            int total = requests.size() * hp.layers().size() * hp.vNumGradSteps();
            int slot = 0;
            for (int i = 0; i < requests.size(); i++) {
                for (int layer : hp.layers()) {
                    int offset = slot++ * hp.vNumGradSteps();
                    Weights w = base.with(c.newWeights);
                    progress.phase("value vector, layer " + layer);
                    Update u = update(model, w, requests.get(i), subjects.get(i), layer, prefixes,
                            inverses.get(layer), (step, n, loss) -> progress.step(offset + step, total, loss));
                    c.updates.add(u);
                    NDArray updated = MlpProjection.plus(model, w, layer, u.update());
                    NDArray previous = c.newWeights.put(u.weight(), updated);
                    if (previous != null) {
                        previous.close();
                    }
                    if (progress.cancelled()) {
                        throw new IceditException("edit cancelled after " + (i + 1) + " request(s)");
                    }
                }
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        } finally {
            stats.values().forEach(SecondMoments.Stats::close);
            inverses.values().forEach(NDArray::close);
        }
    }

    /** The update of one fact at one layer, computed on weights {@code w}, not applied. */
    private Update update(LanguageModel model, Weights w, EditRequest request, String subject, int layer,
            List<String> prefixes, NDArray covInverse, TargetOptimizer.StepListener listener) {
        NDArray keyStar;
        try (NDScope scope = new NDScope()) {
            keyStar = Keys.compute(model, w, List.of(request), List.of(subject), List.of(prefixes), layer,
                    hp.valueSettings().factToken()).reshape(-1); // (I)
            NDScope.unregister(keyStar);
        }
        try (TargetOptimizer.Result v = TargetOptimizer.optimise(model, w, request, subject, prefixes, layer,
                ActivationSite.Kind.MLP_OUT, hp.valueSettings(), listener);
                NDScope scope = new NDScope()) {
            NDArray delta = v.delta().toType(DataType.FLOAT64, false); // (C)
            NDArray direction = covInverse == null ? keyStar.duplicate()
                    : covInverse.matMul(keyStar.reshape(-1, 1)).reshape(-1); // (I)
            NDArray valueStar = MlpProjection.output(model, w, layer, keyStar).add(delta); // (C)
            NDArray update = rankOne(delta, direction, keyStar); // (C, I)
            NDScope.unregister(delta, direction, valueStar, update);
            return new Update(layer, model.config().mlpOutputWeight(layer), keyStar, direction, delta, valueStar,
                    update, v.losses(), v.targetProbability());
        } catch (RuntimeException e) {
            keyStar.close();
            throw e;
        }
    }

    /**
     * The rank-one update dW = r u^T / (u^T k) (C, I), float64, that adds r (C) to the output at key k (I) and leaves
     * the outputs at keys orthogonal to u unchanged.
     */
    public static NDArray rankOne(NDArray r, NDArray u, NDArray k) {
        double denominator = u.dot(k).getDouble();
        if (!(Math.abs(denominator) > 0) || !Double.isFinite(denominator)) {
            throw new IceditException("ROME's update is undefined: u^T k* is " + denominator);
        }
        return r.reshape(-1, 1).matMul(u.reshape(1, -1)).div(denominator); // (C, I)
    }

    /** C^-1 in float64, with a clear error when the statistics cannot be inverted. */
    static NDArray inverse(SecondMoments.Stats s, int width) {
        if (s.tokens() < width) {
            throw new IceditException("the covariance statistics of layer " + s.layer() + " rest on " + s.tokens()
                    + " tokens, fewer than the key's " + width + " dimensions, so C cannot be inverted; raise"
                    + " mom2_n_samples or give a larger corpus (" + s.file() + ")");
        }
        NDArray inv;
        try (NDScope scope = new NDScope()) {
            inv = s.moment().inverse(); // (I, I)
            if (inv.isNaN().any().getBoolean() || inv.isInfinite().any().getBoolean()) {
                throw new IceditException("the covariance statistics of layer " + s.layer() + " are singular ("
                        + s.file() + "); raise mom2_n_samples or give a larger corpus");
            }
            NDScope.unregister(inv);
        }
        return inv;
    }
}
