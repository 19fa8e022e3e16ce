package dev.icedit.edit.tuning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.edit.Editor;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.ft.TargetTokens;
import dev.icedit.edit.locate.Keys;
import dev.icedit.edit.locate.MlpProjection;
import dev.icedit.edit.locate.NullSpace;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.edit.locate.SubjectLocator;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.GradientTape;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The loop ICE, FT-M and FT-L share: only the MLP output projections of the chosen layers (theta_E) change; each
 * step takes, per batch of requests, the objective's loss, one Adam step, and then clamps every element of theta_E
 * to [theta_0 - eps, theta_0 + eps], theta_0 being its value before the edit. Only theta_E carries gradients.
 *
 * <p>With {@code null_space: true} the change is projected before the clamp: theta = theta_0 + (theta' - theta_0) P
 * after each Adam step (theta'), P being AlphaEdit's projector onto the null space of the layer's preserved keys
 * ({@link NullSpace}; in the stored layout, {@link MlpProjection#projectChange}), so the edited matrix leaves the
 * output at those keys as it was, up to what the clamp cuts off. With {@code null_space_edited_keys} the keys at
 * which earlier edits of a sequence wrote ({@link EditedKeys}) are preserved too, and each edit reports its own:
 * the MLP inputs of the trained layers at the positions that predict the target's tokens, on the edited weights.
 * A null space spanning every direction (P = I) leaves the loop exactly as without the option.
 */
public final class ConstrainedTuner implements Editor {
    private final String method;
    private final TuningHyperParams hp;
    private final Supplier<Objective> objectives;

    public ConstrainedTuner(String method, TuningHyperParams hp, Supplier<Objective> objectives) {
        this.method = method;
        this.hp = hp;
        this.objectives = objectives;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public Map<String, Object> hyperParameters() {
        return HyperParams.asMap(hp);
    }

    @Override
    public Map<String, Object> modelDefaults(LanguageModel model) {
        try (Objective objective = objectives.get()) {
            return objective.modelDefaults(model);
        }
    }

    public TuningHyperParams params() {
        return hp;
    }

    @Override
    public void check(LanguageModel model, List<EditRequest> requests) {
        if (requests.isEmpty()) {
            throw new IceditException("no edit requests given");
        }
        trainedWeights(model);
        Objective objective = objectives.get();
        int window = model.config().maxPositions();
        for (int i = 0; i < requests.size(); i++) {
            int n = objective.longestRow(model, requests.get(i));
            if (n > window) {
                throw new IceditException((requests.size() > 1 ? "request " + (i + 1) + ": " : "") + method
                        + " would run a sequence of " + n + " tokens, longer than the model's " + window
                        + "-token context window (shorten the prompt, target or context)");
            }
        }
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        try (EditedKeys none = new EditedKeys()) {
            return edit(model, requests, progress, none);
        }
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress, EditedKeys earlier) {
        check(model, requests);
        List<String> names = trainedWeights(model);
        long start = System.nanoTime();
        Map<String, Object> reported = new LinkedHashMap<>(hyperParameters());
        reported.putAll(modelDefaults(model)); // the edit's record says what it sampled with
        Map<String, NDArray> projectors = hp.usesNullSpace() ? projectors(model, earlier, progress, reported)
                : new LinkedHashMap<>();
        Objective objective = objectives.get();
        SplittableRandom random = new SplittableRandom(hp.seed());
        List<Double> losses = new ArrayList<>();
        Map<String, NDArray> theta = new LinkedHashMap<>();
        Map<String, Adam> adam = new LinkedHashMap<>();
        Map<String, NDArray[]> bounds = new LinkedHashMap<>();
        Map<String, ClampedAdam> fused = new LinkedHashMap<>();
        try (LanguageModel.Lease lease = model.lease()) {
            Weights base = lease.weights();
            String fingerprint = LanguageModel.fingerprint(base, names);
            for (String n : names) {
                NDArray copy = base.get(n).duplicate();
                NDScope.unregister(copy);
                theta.put(n, copy);
                if (projectors.containsKey(n) || !ClampedAdam.applies(copy)) {
                    NDArray lo = base.get(n).sub(hp.normConstraint());
                    NDArray hi = base.get(n).add(hp.normConstraint());
                    NDScope.unregister(lo, hi);
                    bounds.put(n, new NDArray[] {lo, hi});
                    adam.put(n, new Adam(hp.lr(), hp.weightDecay()));
                } else {
                    fused.put(n, new ClampedAdam(base.get(n), hp.lr(), hp.weightDecay(), hp.normConstraint()));
                }
            }
            List<List<EditRequest>> batches = chunks(requests, hp.batchSize());
            for (int step = 0; step < hp.numSteps(); step++) {
                if (progress.cancelled()) {
                    throw new IceditException("edit cancelled at step " + (step + 1));
                }
                double sum = 0;
                for (List<EditRequest> batch : batches) {
                    double loss = optimiserStep(model, base, theta, bounds, adam, fused, projectors, objective, batch,
                            step, random);
                    if (!Double.isFinite(loss)) {
                        throw new IceditException(method + " loss became " + loss + " at step " + (step + 1)
                                + "; the edit was stopped and not applied (try a lower lr)");
                    }
                    sum += loss * batch.size();
                }
                double mean = sum / requests.size();
                losses.add(mean);
                progress.step(step + 1, hp.numSteps(), mean);
                if (hp.earlyStopLoss() != null && mean < hp.earlyStopLoss()) {
                    break;
                }
            }
            Map<String, NDArray> keys = hp.usesNullSpace() && hp.nullSpaceEditedKeys()
                    ? editedKeys(model, base.with(theta), requests) : Map.of();
            Map<String, NDArray> result = new LinkedHashMap<>(theta);
            theta.clear();
            return new EditResult(method, reported, requests, result, fingerprint, losses,
                    (System.nanoTime() - start) / 1e9, keys);
        } finally {
            objective.close();
            projectors.values().forEach(NDArray::close);
            theta.values().forEach(NDArray::close);
            adam.values().forEach(Adam::close);
            fused.values().forEach(ClampedAdam::close);
            bounds.values().forEach(b -> {
                b[0].close();
                b[1].close();
            });
        }
    }

    private double optimiserStep(LanguageModel model, Weights base, Map<String, NDArray> theta,
            Map<String, NDArray[]> bounds, Map<String, Adam> adam, Map<String, ClampedAdam> fused,
            Map<String, NDArray> projectors, Objective objective, List<EditRequest> batch, int step,
            SplittableRandom random) {
        try (NDScope scope = new NDScope()) {
            Map<String, NDArray> leaves = new LinkedHashMap<>();
            Map<String, NDArray> detached = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : theta.entrySet()) {
                NDArray leaf = e.getValue();
                leaf.setRequiresGradient(true);
                leaves.put(e.getKey(), leaf);
                detached.put(e.getKey(), leaf.stopGradient());
            }
            double lossValue;
            try (GradientTape gc = new GradientTape()) {
                NDArray loss = objective.loss(model, base.with(leaves), base.with(detached), batch, step, random);
                lossValue = loss.getFloat();
                if (!Double.isFinite(lossValue)) {
                    return lossValue;
                }
                gc.backward(loss);
            }
            for (Map.Entry<String, NDArray> e : leaves.entrySet()) {
                String n = e.getKey();
                NDArray leaf = e.getValue();
                NDArray grad = leaf.getGradient();
                ClampedAdam together = fused.get(n);
                if (together != null) { // Adam and the clamp fused, in the leaf's memory
                    NDArray next = leaf.stopGradient(); // shares that memory, and is the next step's leaf
                    together.step(next, grad);
                    NDScope.unregister(next);
                    theta.put(n, next);
                    leaf.close();
                    continue;
                }
                NDArray updated = adam.get(n).step(leaf.stopGradient(), grad);
                NDArray projector = projectors.get(n);
                if (projector != null) { // theta_0 + (theta' - theta_0) P, before the clamp
                    NDArray origin = base.get(n);
                    updated = origin.add(MlpProjection.projectChange(model.config(), updated.sub(origin), projector));
                }
                // clamp to [theta_0 - eps, theta_0 + eps], as torch.clamp with tensor bounds does
                NDArray clamped = NDArrays.minimum(NDArrays.maximum(updated, bounds.get(n)[0]), bounds.get(n)[1]);
                NDScope.unregister(clamped);
                theta.put(n, clamped);
                leaf.close();
            }
            return lossValue;
        }
    }

    /**
     * Each trained weight's projector, in the weight's dtype, outside any scope; absent where it is the identity.
     * The statistics are read (or computed, once per model) before the lease, as ROME and MEMIT do.
     */
    private Map<String, NDArray> projectors(LanguageModel model, EditedKeys earlier, EditProgress progress,
            Map<String, Object> reported) {
        progress.phase("covariance statistics");
        List<Integer> layers = hp.layers().stream().distinct().toList();
        Map<String, NDArray> out = new LinkedHashMap<>();
        List<Map<String, Object>> statistics = new ArrayList<>();
        List<Map<String, Object>> spaces = new ArrayList<>();
        Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, layers, hp.mom2(), progress);
        try {
            for (int l : layers) {
                SecondMoments.Stats s = stats.get(l);
                statistics.add(s.summary());
                String name = model.config().mlpOutputWeight(l);
                NDArray gram = hp.nullSpaceEditedKeys() ? earlier.gram(name) : null;
                try (NullSpace.Projector all = NullSpace.of(s, hp.nullspaceThreshold());
                        NullSpace.Projector p = gram == null ? null : all.without(gram)) {
                    NullSpace.Projector used = p == null ? all : p;
                    Map<String, Object> summary = new LinkedHashMap<>(used.summary());
                    summary.put("layer", l);
                    summary.put("earlier_keys", hp.nullSpaceEditedKeys() ? earlier.count(name) : 0);
                    spaces.add(summary);
                    if (!used.isIdentity()) {
                        NDArray inDtype = used.matrix().toType(model.currentWeights().get(name).getDataType(), true);
                        NDScope.unregister(inDtype);
                        out.put(name, inDtype);
                    }
                }
            }
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        } finally {
            stats.values().forEach(SecondMoments.Stats::close);
        }
        reported.put("mom2_stats", statistics);
        reported.put("null_space_dims", spaces);
        return out;
    }

    /**
     * The keys at which the edit wrote: the input of each trained projection at the positions that predict the
     * target's tokens (the last prompt token and every target token but the last), on the edited weights;
     * (n, I) float64 by weight name, outside any scope.
     */
    private Map<String, NDArray> editedKeys(LanguageModel model, Weights edited, List<EditRequest> requests) {
        TargetTokens t = TargetTokens.of(model.tokenizer(), requests);
        List<SubjectLocator.Located> rows = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            long[] prompt = t.prompts().get(i);
            long[] target = t.targets().get(i);
            long[] ids = Suffix.concat(prompt, java.util.Arrays.copyOf(target, target.length - 1));
            for (int j = 0; j < target.length; j++) {
                rows.add(new SubjectLocator.Located(ids, prompt.length - 1 + j));
            }
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (int l : hp.layers().stream().distinct().toList()) {
            try (NDScope scope = new NDScope()) {
                NDArray keys = Keys.read(model, edited, rows, ActivationSite.mlpIn(l)).toType(DataType.FLOAT64, false);
                NDScope.unregister(keys); // (n, I)
                out.put(model.config().mlpOutputWeight(l), keys);
            }
        }
        return out;
    }

    private List<String> trainedWeights(LanguageModel model) {
        int layers = model.config().numLayers();
        List<String> names = new ArrayList<>();
        for (int l : hp.layers()) {
            if (l < 0 || l >= layers) {
                throw new IceditException(method + " hyper-parameters name layer " + l + " but the model has "
                        + layers + " layers (0.." + (layers - 1) + ")");
            }
            String n = model.config().mlpOutputWeight(l);
            if (!model.currentWeights().contains(n)) {
                throw new IceditException(method + " hyper-parameters name weight '" + n + "', which the model lacks");
            }
            if (!names.contains(n)) {
                names.add(n);
            }
        }
        return names;
    }

    static <T> List<List<T>> chunks(List<T> items, int size) {
        List<List<T>> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i += size) {
            out.add(items.subList(i, Math.min(items.size(), i + size)));
        }
        return out;
    }
}
