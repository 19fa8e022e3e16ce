package dev.icedit.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.icedit.model.Hooks;
import dev.icedit.model.KvCache;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Continues prompts with a KV cache: one pass over the (left-padded) prompts, then one token per step. A row ends at
 * any of the tokenizer's EOS ids (generation_config.json may list several).
 */
public final class Generator {
    private Generator() {}

    /** Continues each prompt; returns the new tokens of each row (EOS included when it ended the row). */
    public static List<long[]> generate(LanguageModel model, List<long[]> prompts, GenerationOptions options) {
        try (LanguageModel.Lease lease = model.lease()) {
            return generate(model, lease.weights(), prompts, options);
        }
    }

    /** As {@link #generate(LanguageModel, List, GenerationOptions)}, with given weights (the caller holds a lease). */
    public static List<long[]> generate(LanguageModel model, Weights w, List<long[]> prompts, GenerationOptions options) {
        // one sampler for the batch: its rows draw from one random stream, in row order at each step
        TokenSampler shared = new TokenSampler(options);
        List<TokenSampler> samplers = new ArrayList<>();
        List<GenerationOptions> each = new ArrayList<>();
        for (int b = 0; b < prompts.size(); b++) {
            samplers.add(shared);
            each.add(options);
        }
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        int[] budget = new int[prompts.size()];
        java.util.Arrays.fill(budget, Math.min(options.maxNewTokens(), model.config().maxPositions() - longest));
        return run(model, w, prompts, each, samplers, budget);
    }

    /**
     * Continues each prompt with its own options in one batch: its own length, EOS rules and a random stream of its
     * own, seeded with its seed, so that a row's tokens are those {@link #generate} gives it alone (up to the
     * rounding of a batched forward pass). The caller holds a lease when {@code w} is the model's weights.
     */
    public static List<long[]> generateEach(LanguageModel model, Weights w, List<long[]> prompts,
            List<GenerationOptions> options) {
        if (options.size() != prompts.size()) {
            throw new IllegalArgumentException(options.size() + " options for " + prompts.size() + " prompts");
        }
        int rows = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        int[] budget = new int[rows];
        int steps = 0;
        for (int b = 0; b < rows; b++) {
            // alone, a row may run until its own sequence fills the window
            budget[b] = Math.min(options.get(b).maxNewTokens(), model.config().maxPositions() - prompts.get(b).length);
            steps = Math.max(steps, budget[b]);
        }
        if (rows > 1 && longest + steps > model.config().maxPositions()) {
            // left-padded to the longest prompt, some row would not fit the window: row by row instead
            List<long[]> result = new ArrayList<>();
            for (int b = 0; b < rows; b++) {
                result.addAll(generateEach(model, w, List.of(prompts.get(b)), List.of(options.get(b))));
            }
            return result;
        }
        List<TokenSampler> samplers = new ArrayList<>();
        for (GenerationOptions o : options) {
            samplers.add(new TokenSampler(o));
        }
        return run(model, w, prompts, options, samplers, budget);
    }

    /** The decode loop: row b draws with {@code samplers[b]} until its budget, EOS (if it stops there) or the end. */
    private static List<long[]> run(LanguageModel model, Weights w, List<long[]> prompts,
            List<GenerationOptions> options, List<TokenSampler> samplers, int[] budget) {
        int rows = prompts.size();
        List<List<Long>> out = new ArrayList<>();
        for (long[] p : prompts) {
            if (p.length == 0) {
                throw new dev.icedit.tensor.IceditException("cannot generate from an empty prompt");
            }
            out.add(new ArrayList<>());
        }
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (longest > model.config().maxPositions()) {
            throw new dev.icedit.tensor.IceditException("prompt of " + longest + " tokens is longer than the model's "
                    + model.config().maxPositions() + "-token context window");
        }
        int steps = java.util.Arrays.stream(budget).max().orElse(0);
        Tokenizer tok = null;
        List<Long> eos;
        try {
            tok = model.tokenizer();
            eos = tok.eosTokenIds();
        } catch (RuntimeException noTokenizer) {
            eos = model.config().eosTokenIds();
        }
        long pad = tok != null ? tok.padTokenId() : !eos.isEmpty() ? eos.get(0) : 0;
        boolean[] done = new boolean[rows];
        for (int b = 0; b < rows; b++) {
            done[b] = budget[b] <= 0;
        }
        try (KvCache cache = new KvCache(model.config().numLayers())) {
            TokenBatch step = TokenBatch.leftPadded(prompts, pad);
            for (int n = 0; n < steps; n++) {
                float[][] last = lastLogits(model, w, step, cache);
                long[] next = new long[rows];
                boolean allDone = true;
                for (int b = 0; b < rows; b++) {
                    if (done[b]) {
                        next[b] = pad;
                        continue;
                    }
                    GenerationOptions o = options.get(b);
                    next[b] = samplers.get(b).next(last[b], n < o.minNewTokens() ? eos : List.of());
                    out.get(b).add(next[b]);
                    if ((o.stopAtEos() && eos.contains(next[b])) || n == budget[b] - 1) {
                        done[b] = true;
                    }
                    allDone &= done[b];
                }
                if (allDone || n == steps - 1) {
                    break;
                }
                step = TokenBatch.column(next);
            }
        }
        List<long[]> result = new ArrayList<>();
        for (List<Long> r : out) {
            result.add(r.stream().mapToLong(Long::longValue).toArray());
        }
        return result;
    }

    /** Logits of each row's last position (B x V), on the host. */
    private static float[][] lastLogits(LanguageModel model, Weights w, TokenBatch step, KvCache cache) {
        try (NDScope scope = new NDScope()) {
            NDArray hidden = model.hidden(w, step, cache, Hooks.NONE); // (B, T, C)
            NDArray last = hidden.get(":, -1:, :"); // (B, 1, C)
            NDArray logits = model.logits(w, last); // (B, 1, V)
            float[] flat = logits.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            int v = (int) logits.getShape().get(2);
            float[][] rows = new float[step.rows()][v];
            for (int b = 0; b < rows.length; b++) {
                System.arraycopy(flat, b * v, rows[b], 0, v);
            }
            return rows;
        }
    }

    /** Generates from a text prompt and returns the continuation's text. */
    public static String generateText(LanguageModel model, String prompt, GenerationOptions options) {
        if (prompt == null || prompt.isEmpty()) {
            throw new dev.icedit.tensor.IceditException("prompt is empty");
        }
        long[] ids = model.tokenizer().encodePrompt(prompt);
        return model.tokenizer().decode(generate(model, List.of(ids), options).get(0));
    }
}
