package dev.icedit.edit.ice;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.tuning.Objective;
import dev.icedit.edit.tuning.Suffix;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.Hooks;
import dev.icedit.model.KvCache;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.TokenSampler;
import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One ICE step for a batch of requests, as the paper describes it:
 * <ol>
 *   <li>Context: for each request and each of its context sentences c, a phrase drawn from {@link #PHRASES}
 *       ({@link #RELEASED_PHRASES} with {@code context_phrases: released}), then c, then " Now: ".
 *   <li>Dynamic target: sample m continuation tokens y from the current model given [context, q, x*] (exactly m:
 *       EOS is not allowed), at temperature tau, then top-k and top-p as {@code model.generate} applies them.
 *   <li>One pass with context over [context, q, x*, y] and one without over [q, x*, y] give p_theta and q_theta at
 *       the positions of x* and y.
 *   <li>The loss of {@link IceLoss}.
 * </ol>
 * The pass with context doubles as the sampler: its last position gives the distribution of y_1, and decoding
 * y_1 .. y_(m-1) with its key/value cache gives those of y_2 .. y_m, which are the p_theta the KL needs (p is held
 * fixed there), so no extra pass is spent on sampling. With {@code static_target} y is sampled once, before the
 * first step, and p_theta is recomputed over it at every step. With {@code target_mask: released} the target terms
 * cover the tokens the released code's mask covers ({@link #row(Tokenizer, EditRequest, String, boolean)}).
 */
public final class IceObjective implements Objective {
    /** The context phrases the paper's released code means to list, each followed by the context and " Now: ". */
    public static final List<String> PHRASES = List.of("", "Fact: ", "A new knowledge: ",
            "Consider this new knowledge: ", "Remember this fact: ",
            "Remember this new fact and reason about its consequences: ");
    /**
     * The list the released code (bigai-ai/ICE, easyeditor/models/ft/ft_main.py) holds: the commas after "Fact: " and
     * "A new knowledge: " are missing, so Python joins those two strings with the next one.
     */
    public static final List<String> RELEASED_PHRASES = List.of("",
            "Fact: A new knowledge: Consider this new knowledge: ", "Remember this fact: ",
            "Remember this new fact and reason about its consequences: ");
    /** What follows a context sentence, before the prompt. */
    public static final String NOW = " Now: ";

    private final TuningHyperParams hp;
    private final Map<String, long[]> staticCompletions = new HashMap<>();

    public IceObjective(TuningHyperParams hp) {
        this.hp = hp;
    }

    /**
     * One row of an ICE batch: token ids of the two prefixes, of x* and (once known) of y, and how many of the
     * target's last tokens the -log p - log q terms cover (all of them but with {@code target_mask: released}).
     */
    public record Row(long[] withContext, long[] withoutContext, long[] target, long[] completion, int scored) {
        public Row(long[] withContext, long[] withoutContext, long[] target, long[] completion) {
            this(withContext, withoutContext, target, completion, target.length);
        }

        public Row withCompletion(long[] y) {
            return new Row(withContext, withoutContext, target, y, scored);
        }
    }

    /**
     * The row of a request under one context: the context and the prompt read as one prompt, the prompt alone,
     * and x* as the tokens of the target after the prompt ({@link EditRequest#tokens}).
     */
    public static Row row(Tokenizer tok, EditRequest r, String context) {
        return row(tok, r, context, false);
    }

    /**
     * As {@link #row(Tokenizer, EditRequest, String)}; with {@code releasedMask} the target terms cover what the
     * released code's mask covers: the last n tokens of [prompt, x*], n = len(tokenizer(" " + target)) with the
     * special tokens the tokenizer adds (BOS), at most all but the first token. When n exceeds |x*| the prompt's
     * last n - |x*| tokens move from both prefixes into the row's target (the released code scores the prompt's own
     * tokens there, with and without context); when n is smaller only the last n tokens of x* are scored.
     */
    public static Row row(Tokenizer tok, EditRequest r, String context, boolean releasedMask) {
        Tokenizer.Continuation target = r.tokens(tok);
        long[] withContext = tok.encodePrompt(context + r.prompt());
        long[] prompt = target.prompt();
        long[] x = target.tokens();
        if (!releasedMask) {
            return new Row(withContext, prompt, x, null);
        }
        int n = Math.min(tok.encode(" " + r.target()).length, prompt.length + x.length - 1);
        int moved = Math.min(Math.max(0, n - x.length), withContext.length - 1);
        if (moved == 0) {
            return new Row(withContext, prompt, x, null, n);
        }
        long[] scored = Suffix.concat(java.util.Arrays.copyOfRange(prompt, prompt.length - moved, prompt.length), x);
        return new Row(java.util.Arrays.copyOf(withContext, withContext.length - moved),
                java.util.Arrays.copyOf(prompt, prompt.length - moved), scored, null, scored.length);
    }

    /**
     * What precedes the prompt in the pass with context, one per context sentence of the request (its own, else the
     * default one): a phrase drawn from the {@code context_phrases} list, the sentence, then {@link #NOW}.
     */
    public static List<String> contexts(EditRequest r, TuningHyperParams hp, SplittableRandom random) {
        List<String> phrases = phrases(hp);
        List<String> sentences = sentences(r, hp);
        List<String> out = new ArrayList<>();
        for (String c : sentences) {
            out.add(phrases.get(random.nextInt(phrases.size())) + c + NOW);
        }
        return out;
    }

    /** The context phrases {@code context_phrases} names. */
    static List<String> phrases(TuningHyperParams hp) {
        return TuningHyperParams.RELEASED.equals(hp.contextPhrases()) ? RELEASED_PHRASES : PHRASES;
    }

    /** The request's context sentences, else the default one. */
    static List<String> sentences(EditRequest r, TuningHyperParams hp) {
        return r.context().isEmpty()
                ? List.of(defaultContext(r, TuningHyperParams.RELEASED.equals(hp.defaultContext()))) : r.context();
    }

    /** The context sentence of a request that has none ({@code default_context}). */
    public static String defaultContext(EditRequest r, boolean released) {
        return released ? r.statedFact() + " " : r.statedFact();
    }

    /** The longest pass with context: the longest phrase before each context sentence, then x* and y. */
    @Override
    public int longestRow(LanguageModel model, EditRequest r) {
        Tokenizer tok = model.tokenizer();
        List<String> phrases = phrases(hp);
        List<String> sentences = sentences(r, hp);
        boolean releasedMask = TuningHyperParams.RELEASED.equals(hp.targetMask());
        int longest = 0;
        for (String phrase : phrases) {
            for (String c : sentences) {
                Row row = row(tok, r, phrase + c + NOW, releasedMask);
                // y_1 .. y_(m-1) are fed back; y_m is only predicted
                int fedBack = Math.max(0, hp.maxNewTokens() - 1);
                longest = Math.max(longest, row.withContext().length + row.target().length + fedBack);
            }
        }
        return longest;
    }

    @Override
    public Map<String, Object> modelDefaults(LanguageModel model) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        if (hp.topK() == null) {
            out.put("top_k", hp.topK(model.samplingDefaults()));
        }
        if (hp.topP() == null) {
            out.put("top_p", hp.topP(model.samplingDefaults()));
        }
        return out;
    }

    @Override
    public NDArray loss(LanguageModel model, Weights trainable, Weights frozen, List<EditRequest> batch, int step,
            SplittableRandom random) {
        Tokenizer tok = model.tokenizer();
        boolean releasedMask = TuningHyperParams.RELEASED.equals(hp.targetMask());
        List<Row> rows = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (EditRequest r : batch) {
            List<String> contexts = contexts(r, hp, random);
            for (int i = 0; i < contexts.size(); i++) {
                rows.add(row(tok, r, contexts.get(i), releasedMask));
                keys.add(r.prompt() + "\u0000" + r.target() + "\u0000" + i);
            }
        }
        GenerationOptions sampling = new GenerationOptions(hp.maxNewTokens(), hp.maxNewTokens(), hp.temperature(),
                hp.topK(model.samplingDefaults()), hp.topP(model.samplingDefaults()), random.nextLong(), false);
        if (hp.staticTarget()) {
            for (int i = 0; i < rows.size(); i++) {
                long[] y = staticCompletions.get(keys.get(i));
                if (y == null) {
                    y = sample(model, frozen, List.of(rows.get(i)), hp.sampleWithContext(),
                            sampling.withSeed(random.nextLong())).get(0);
                    staticCompletions.put(keys.get(i), y);
                }
                rows.set(i, rows.get(i).withCompletion(y));
            }
            return lossForKnownCompletions(model, trainable, rows).mean();
        }
        if (!hp.sampleWithContext()) {
            List<long[]> ys = sample(model, frozen, rows, false, sampling);
            for (int i = 0; i < rows.size(); i++) {
                rows.set(i, rows.get(i).withCompletion(ys.get(i)));
            }
            return lossForKnownCompletions(model, trainable, rows).mean();
        }
        return lossSamplingWithContext(model, trainable, frozen, rows, sampling).mean();
    }

    /**
     * The loss when y is known: one teacher-forced pass with context over [context, q, x*, y_&lt;m] and one without
     * over [q, x*, y_&lt;m]. This is the definition; the sampling path must agree with it for the same y.
     */
    public static IceLoss.Terms lossForKnownCompletions(LanguageModel model, Weights w, List<Row> rows) {
        int m = rows.get(0).completion().length;
        int k = maxTarget(rows) + m;
        List<long[]> withCtx = new ArrayList<>();
        List<long[]> without = new ArrayList<>();
        List<long[]> predicted = new ArrayList<>();
        for (Row r : rows) {
            long[] yHead = java.util.Arrays.copyOf(r.completion(), m - 1);
            withCtx.add(Suffix.concat(r.withContext(), r.target(), yHead));
            without.add(Suffix.concat(r.withoutContext(), r.target(), yHead));
            predicted.add(Suffix.concat(r.target(), r.completion()));
        }
        NDArray logP = Suffix.logProbs(model, w, withCtx, k, null); // (B, K, V)
        NDArray logQ = Suffix.logProbs(model, w, without, k, null); // (B, K, V)
        return terms(model, rows, predicted, k, logP, logQ);
    }

    /** The dynamic-target step: the pass with context samples y as it goes (see the class comment). */
    private IceLoss.Terms lossSamplingWithContext(LanguageModel model, Weights trainable, Weights frozen, List<Row> rows,
            GenerationOptions sampling) {
        return cachedContextPass(model, trainable, frozen, rows, new TokenSampler(sampling), hp.maxNewTokens());
    }

    /**
     * The loss for known y computed as the sampling step computes it (one pass with context over [context, q, x*],
     * then y through its key/value cache); it must equal {@link #lossForKnownCompletions}.
     */
    public static IceLoss.Terms lossWithCachedContextPass(LanguageModel model, Weights w, List<Row> rows) {
        return cachedContextPass(model, w, w, rows, null, rows.get(0).completion().length);
    }

    /**
     * One pass with context over [context, q, x*] (gradients flow for the x* positions), then m - 1 decoding steps
     * through its cache with the frozen weights; y is sampled when {@code sampler} is given, else read from the rows.
     */
    private static IceLoss.Terms cachedContextPass(LanguageModel model, Weights trainable, Weights frozen,
            List<Row> rows, TokenSampler sampler, int m) {
        int kx = maxTarget(rows);
        List<long[]> withCtx = new ArrayList<>();
        for (Row r : rows) {
            withCtx.add(Suffix.concat(r.withContext(), r.target()));
        }
        List<Long> eos = model.tokenizer().eosTokenIds();
        List<long[]> ys = new ArrayList<>();
        for (Row r : rows) {
            ys.add(sampler == null ? r.completion().clone() : new long[m]);
        }
        NDArray logP;
        try (KvCache cache = new KvCache(model.config().numLayers())) {
            NDArray prefix = Suffix.logProbs(model, trainable, withCtx, kx + 1, cache); // (B, Kx+1, V)
            cache.detach();
            List<NDArray> parts = new ArrayList<>();
            parts.add(prefix.get(":, :" + kx + ", :")); // (B, Kx, V): predicts x*, with gradient
            NDArray next = prefix.get(":, " + kx + ":, :").stopGradient(); // (B, 1, V): predicts y_1
            for (int j = 0; j < m; j++) {
                parts.add(next);
                long[] tokens = new long[rows.size()];
                if (sampler != null) {
                    tokens = sampleColumn(next, sampler, eos);
                }
                for (int b = 0; b < rows.size(); b++) {
                    if (sampler != null) {
                        ys.get(b)[j] = tokens[b];
                    } else {
                        tokens[b] = ys.get(b)[j];
                    }
                }
                if (j < m - 1) {
                    NDArray hidden = model.hidden(frozen, TokenBatch.column(tokens), cache, Hooks.NONE); // (B, 1, C)
                    next = model.logits(frozen, hidden).toType(DataType.FLOAT32, false).logSoftmax(-1); // (B, 1, V)
                }
            }
            logP = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(parts), 1); // (B, Kx+m, V)
        }
        List<Row> complete = new ArrayList<>();
        List<long[]> without = new ArrayList<>();
        List<long[]> predicted = new ArrayList<>();
        for (int b = 0; b < rows.size(); b++) {
            Row r = rows.get(b);
            long[] y = ys.get(b);
            complete.add(r.withCompletion(y));
            without.add(Suffix.concat(r.withoutContext(), r.target(), java.util.Arrays.copyOf(y, m - 1)));
            predicted.add(Suffix.concat(r.target(), y));
        }
        NDArray logQ = Suffix.logProbs(model, trainable, without, kx + m, null); // (B, Kx+m, V)
        return terms(model, complete, predicted, kx + m, logP, logQ);
    }

    private static IceLoss.Terms terms(LanguageModel model, List<Row> rows, List<long[]> predicted, int k, NDArray logP,
            NDArray logQ) {
        NDManager manager = logP.getManager();
        NDArray[] ids = Suffix.rightAligned(manager, predicted, k); // (B, K) twice
        int b = rows.size();
        float[] target = new float[b * k];
        float[] completion = new float[b * k];
        Tokenizer tok = model.tokenizer();
        for (int i = 0; i < b; i++) {
            Row r = rows.get(i);
            int m = r.completion().length;
            int firstTarget = k - m - r.target().length;
            for (int j = r.target().length - r.scored(); j < r.target().length; j++) {
                target[i * k + firstTarget + j] = 1f;
            }
            for (int j = 0; j < m; j++) {
                if (tok.isEos(r.completion()[j])) {
                    break; // tokens from the first EOS (any of them) on are not part of the continuation
                }
                completion[i * k + k - m + j] = 1f;
            }
        }
        NDArray targetMask = dev.icedit.tensor.HostArrays.of(manager, target, new ai.djl.ndarray.types.Shape(b, k)); // (B, K)
        NDArray completionMask = dev.icedit.tensor.HostArrays.of(manager, completion, new ai.djl.ndarray.types.Shape(b, k)); // (B, K)
        return IceLoss.compute(logP, logQ, ids[0], targetMask, completionMask);
    }

    /** Samples exactly m tokens after [context, q, x*] (or [q, x*]) for each row, with the given weights. */
    private static List<long[]> sample(LanguageModel model, Weights w, List<Row> rows, boolean withContext,
            GenerationOptions sampling) {
        List<long[]> prompts = new ArrayList<>();
        for (Row r : rows) {
            prompts.add(Suffix.concat(withContext ? r.withContext() : r.withoutContext(), r.target()));
        }
        return dev.icedit.model.generate.Generator.generate(model, w, prompts, sampling);
    }

    /** One token per row; no EOS id can be drawn (y has exactly m tokens). */
    private static long[] sampleColumn(NDArray logProbs, TokenSampler sampler, List<Long> eos) {
        int b = (int) logProbs.getShape().get(0);
        int v = (int) logProbs.getShape().get(2);
        float[] flat = logProbs.toFloatArray();
        long[] out = new long[b];
        for (int i = 0; i < b; i++) {
            float[] row = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
            out[i] = sampler.next(row, eos);
        }
        return out;
    }

    private static int maxTarget(List<Row> rows) {
        return rows.stream().mapToInt(r -> r.target().length).max().orElse(0);
    }
}
