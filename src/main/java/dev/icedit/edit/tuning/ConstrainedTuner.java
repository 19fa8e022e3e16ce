package dev.icedit.edit.tuning;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.Editor;
import dev.icedit.edit.HyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
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

    public TuningHyperParams params() {
        return hp;
    }

    @Override
    public void check(LanguageModel model, List<EditRequest> requests) {
        if (requests.isEmpty()) {
            throw new IceditException("no edit requests given");
        }
        trainedWeights(model);
    }

    @Override
    public EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress) {
        check(model, requests);
        List<String> names = trainedWeights(model);
        long start = System.nanoTime();
        Objective objective = objectives.get();
        SplittableRandom random = new SplittableRandom(hp.seed());
        List<Double> losses = new ArrayList<>();
        Map<String, NDArray> theta = new LinkedHashMap<>();
        Map<String, Adam> adam = new LinkedHashMap<>();
        Map<String, NDArray[]> bounds = new LinkedHashMap<>();
        try (LanguageModel.Lease lease = model.lease()) {
            Weights base = lease.weights();
            String fingerprint = LanguageModel.fingerprint(base, names);
            for (String n : names) {
                NDArray copy = base.get(n).duplicate();
                NDArray lo = base.get(n).sub(hp.normConstraint());
                NDArray hi = base.get(n).add(hp.normConstraint());
                NDScope.unregister(copy, lo, hi);
                bounds.put(n, new NDArray[] {lo, hi});
                theta.put(n, copy);
                adam.put(n, new Adam(hp.lr(), hp.weightDecay()));
            }
            List<List<EditRequest>> batches = chunks(requests, hp.batchSize());
            for (int step = 0; step < hp.numSteps(); step++) {
                if (progress.cancelled()) {
                    throw new IceditException("edit cancelled at step " + (step + 1));
                }
                double sum = 0;
                for (List<EditRequest> batch : batches) {
                    double loss = optimiserStep(model, base, theta, bounds, adam, objective, batch, step, random);
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
            Map<String, NDArray> result = new LinkedHashMap<>(theta);
            theta.clear();
            return new EditResult(method, hyperParameters(), requests, result, fingerprint, losses,
                    (System.nanoTime() - start) / 1e9);
        } finally {
            theta.values().forEach(NDArray::close);
            adam.values().forEach(Adam::close);
            bounds.values().forEach(b -> {
                b[0].close();
                b[1].close();
            });
        }
    }

    private double optimiserStep(LanguageModel model, Weights base, Map<String, NDArray> theta,
            Map<String, NDArray[]> bounds, Map<String, Adam> adam, Objective objective, List<EditRequest> batch,
            int step, SplittableRandom random) {
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
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
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
                NDArray updated = adam.get(n).step(leaf.stopGradient(), grad);
                // clamp to [theta_0 - eps, theta_0 + eps], as torch.clamp with tensor bounds does
                NDArray clamped = NDArrays.minimum(NDArrays.maximum(updated, bounds.get(n)[0]), bounds.get(n)[1]);
                NDScope.unregister(clamped);
                theta.put(n, clamped);
                leaf.close();
            }
            return lossValue;
        }
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
