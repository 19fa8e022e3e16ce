package dev.icedit.edit.locate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.locate.SubjectLocator.Located;
import dev.icedit.edit.tuning.Adam;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.FrozenPrefix;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.GradientTape;
import dev.icedit.tensor.HostArrays;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The target vector of one fact (ROME's compute_v, MEMIT's compute_z): a vector delta added to the MLP output of
 * layer l at the subject's token is optimised with Adam so that, over the prompt and its context prefixes, the
 * model predicts the target:
 *
 * <pre>
 *   loss(delta) = mean over prefixes of  -(1/m) sum_j log p(x*_j | prefix + prompt + x*_&lt;j)
 *               + kl_factor * KL( p(. | "{subject} is a") || p_0(. | "{subject} is a") )
 *               + v_weight_decay * |delta| / |h_0|^2
 * </pre>
 *
 * where m is the target's length, p_0 the distribution before the edit (read at the subject's token, as the
 * released code does) and h_0 the anchor (the MLP output for ROME, the layer's residual output for MEMIT) at the
 * subject's token of the bare prompt. After each Adam step delta is projected into the ball of radius
 * clamp_norm_factor * |h_0|. The loop stops early once the loss is below 0.05; the last step takes no Adam step.
 *
 * <p>Adding delta to the MLP output adds it to the residual stream too, so the same hook serves both methods.
 * Shapes: R prefixed prompts plus one KL row = B rows, T padded length, m target tokens, C hidden, V vocabulary.
 */
public final class TargetOptimizer {
    /** The released code's early-stopping threshold on the total loss. */
    static final double STOP_LOSS = 5e-2;

    /** Settings as the hyper-parameter files name them (v_num_grad_steps, v_lr, ...), checked as they are made. */
    public record Settings(int numGradSteps, double lr, double weightDecay, double clampNormFactor, double klFactor,
            FactToken factToken) {
        public Settings {
            if (numGradSteps < 1) {
                throw new IceditException("v_num_grad_steps must be >= 1, got " + numGradSteps);
            }
            if (!(lr > 0) || Double.isInfinite(lr)) {
                throw new IceditException("v_lr must be a positive number, got " + lr);
            }
            if (!(weightDecay >= 0) || !(klFactor >= 0)) {
                throw new IceditException("v_weight_decay and kl_factor must be >= 0");
            }
            if (!(clampNormFactor > 0)) {
                throw new IceditException("clamp_norm_factor must be positive, got " + clampNormFactor);
            }
        }
    }

    /**
     * The outcome for one fact: the anchor h_0 and the optimised delta (C), float32, owned by this result; the total
     * loss of each step; and the mean probability of the target over the prefixed prompts at the last step.
     */
    public record Result(NDArray anchor, NDArray delta, List<Double> losses, double targetProbability)
            implements AutoCloseable {
        /** h_0 + delta: the target the anchor should take. */
        public NDArray target() {
            return anchor.add(delta);
        }

        @Override
        public void close() {
            anchor.close();
            delta.close();
        }
    }

    /** Receives the loss of each step. */
    public interface StepListener {
        void step(int step, int total, double loss);
    }

    private TargetOptimizer() {}

    public static Result optimise(LanguageModel model, Weights w, EditRequest request, String subject,
            List<String> prefixes, int layer, ActivationSite.Kind anchorKind, Settings s, StepListener listener) {
        Tokenizer tok = model.tokenizer();
        long[] target = targetTokens(tok, request);
        long[] targetHead = Arrays.copyOf(target, target.length - 1);
        List<Located> rows = new ArrayList<>();
        for (String prefix : prefixes) {
            Located l = SubjectLocator.locate(tok, prefix, request.prompt(), subject, s.factToken());
            rows.add(new Located(concat(l.ids(), targetHead), l.position()));
        }
        Located klRow = SubjectLocator.locate(tok, "", subject + " is a", subject, s.factToken());
        List<Located> all = new ArrayList<>(rows);
        all.add(klRow);
        int r = rows.size();
        int m = target.length;

        NDManager manager = model.manager();
        TokenBatch batch = TokenBatch.leftPadded(all.stream().map(Located::ids).toList(), tok.padTokenId());
        int t = batch.length();
        int c = model.config().hiddenSize();
        int klColumn = batch.padding(r) + klRow.position();
        float[] mask = new float[all.size() * t];
        for (int b = 0; b < all.size(); b++) {
            mask[b * t + batch.padding(b) + all.get(b).position()] = 1f;
        }
        long[] targetIds = new long[r * m];
        for (int b = 0; b < r; b++) {
            System.arraycopy(target, 0, targetIds, b * m, m);
        }

        NDArray anchor;
        double anchorNorm;
        try (NDScope scope = new NDScope()) {
            anchor = ActivationReader.read(model, w, List.of(rows.get(0)), new ActivationSite(layer, anchorKind))
                    .reshape(c); // (C)
            NDScope.unregister(anchor);
            anchorNorm = norm(anchor);
        }
        if (!(anchorNorm > 0)) {
            anchor.close();
            throw new IceditException("the " + anchorKind.name().toLowerCase() + " activation of layer " + layer
                    + " at the subject's token is zero; cannot scale the target vector");
        }
        double maxNorm = s.clampNormFactor() * anchorNorm;
        NDArray delta = manager.zeros(new Shape(c), DataType.FLOAT32); // (C)
        NDScope.unregister(delta);
        NDArray klInit = null;
        List<Double> losses = new ArrayList<>();
        double probability = 0;
        // the hook adds delta at layer l's MLP output: what comes before it is the same at every step
        try (Adam adam = new Adam(s.lr(), 0); FrozenPrefix below = FrozenPrefix.atMlpOutput(layer)) {
            for (int step = 0; step < s.numGradSteps(); step++) {
                try (NDScope scope = new NDScope()) {
                    // PyTorch-owned copies: autograd keeps the mask and the indices for the backward pass
                    NDArray maskArr = HostArrays.of(manager, mask, new Shape(all.size(), t, 1)); // (B, T, 1)
                    NDArray ids = HostArrays.of(manager, targetIds, new Shape(r, m)); // (R, m)
                    delta.setRequiresGradient(true);
                    NDArray leaf = delta;
                    Hooks hooks = Hooks.of(ActivationSite.mlpOut(layer),
                            (site, x) -> x.add(maskArr.mul(leaf).toType(x.getDataType(), false))); // (B, T, C)
                    boolean last = step == s.numGradSteps() - 1;
                    double lossValue;
                    NDArray grad = null;
                    try (GradientTape gc = new GradientTape()) {
                        NDArray hidden = model.hidden(w, batch, null, hooks, below); // (B, T, C)
                        NDArray tail = hidden.get(new NDIndex("0:{}, {}:, :", r, t - m)); // (R, m, C)
                        NDArray logProbs = float32(model.logits(w, tail)).logSoftmax(-1); // (R, m, V)
                        NDArray picked = logProbs.gather(ids.expandDims(-1), -1).squeeze(-1); // (R, m)
                        NDArray nllEach = HostArrays.times(picked.sum(new int[] {1}), -1.0 / m); // (R)
                        NDArray nll = nllEach.mean();
                        NDArray klHidden = hidden.get(new NDIndex("{}:{}, {}:{}, :", r, r + 1, klColumn,
                                klColumn + 1)); // (1, 1, C)
                        NDArray klLogProbs = float32(model.logits(w, klHidden)).logSoftmax(-1).reshape(-1); // (V)
                        if (klInit == null) {
                            klInit = klLogProbs.stopGradient().duplicate();
                            NDScope.unregister(klInit);
                        }
                        NDArray kl = klLogProbs.exp().mul(klLogProbs.sub(klInit)).sum();
                        NDArray decay = HostArrays.times(leaf.norm(), s.weightDecay() / (anchorNorm * anchorNorm));
                        NDArray loss = nll.add(HostArrays.times(kl, s.klFactor())).add(decay);
                        lossValue = loss.toType(DataType.FLOAT64, false).getDouble();
                        probability = nllEach.neg().exp().mean().toType(DataType.FLOAT64, false).getDouble();
                        if (!Double.isFinite(lossValue)) {
                            throw new IceditException("target vector optimisation for '" + request.prompt()
                                    + "' diverged (loss " + lossValue + " at step " + (step + 1) + "; try a lower v_lr)");
                        }
                        if (!last && lossValue >= STOP_LOSS) {
                            gc.backward(loss);
                            grad = leaf.getGradient();
                        }
                    }
                    losses.add(lossValue);
                    listener.step(step + 1, s.numGradSteps(), lossValue);
                    if (grad == null) {
                        break;
                    }
                    NDArray updated = adam.step(leaf.stopGradient(), grad); // (C)
                    double norm = norm(updated);
                    if (norm > maxNorm) {
                        updated = updated.mul(maxNorm / norm);
                    }
                    NDScope.unregister(updated);
                    delta = updated;
                    leaf.close();
                }
            }
            NDArray result;
            try (NDScope scope = new NDScope()) {
                result = delta.stopGradient().duplicate(); // (C)
                NDScope.unregister(result);
            }
            delta.close();
            delta = null;
            return new Result(anchor, result, losses, probability);
        } catch (RuntimeException e) {
            anchor.close();
            throw e;
        } finally {
            if (delta != null) {
                delta.close();
            }
            if (klInit != null) {
                klInit.close();
            }
        }
    }

    /** The target's tokens v* is optimised for: those after the prompt in their joint encoding. */
    public static long[] targetTokens(Tokenizer tok, EditRequest request) {
        return request.tokens(tok).tokens();
    }

    /**
     * Checks v_loss_layer: the released code scores the output of that layer through the final norm and the
     * unembedding, and every released configuration names the last layer; icedit scores the model's output, which
     * is the same thing for the last layer and which it cannot do for another.
     */
    public static void checkLossLayer(Integer lossLayer, LanguageModel model, String method) {
        int last = model.config().numLayers() - 1;
        if (lossLayer != null && lossLayer != last) {
            throw new IceditException(method + " hyper-parameters: v_loss_layer is " + lossLayer + " but only the"
                    + " model's last layer (" + last + ") is supported; leave it out to mean the last layer");
        }
    }

    /** The loss at each step averaged over several optimisations (one that stopped early keeps its last loss). */
    public static List<Double> meanLosses(List<List<Double>> losses) {
        int steps = losses.stream().mapToInt(List::size).max().orElse(0);
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            double sum = 0;
            for (List<Double> l : losses) {
                sum += l.get(Math.min(i, l.size() - 1));
            }
            out.add(sum / losses.size());
        }
        return out;
    }

    /** The Euclidean norm of a vector, computed in the caller's scope. */
    private static double norm(NDArray v) {
        return v.norm().toType(DataType.FLOAT64, false).getDouble();
    }

    private static NDArray float32(NDArray a) {
        return a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
    }

    static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
