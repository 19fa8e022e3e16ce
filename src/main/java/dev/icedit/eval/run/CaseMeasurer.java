package dev.icedit.eval.run;

import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.EvalItem;
import dev.icedit.eval.metrics.AnswerMatch;
import dev.icedit.eval.metrics.Fluency;
import dev.icedit.eval.metrics.GenerationScores;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.metrics.TokenMetrics;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures one case on a model under the run's protocol: teacher-forced, the KnowEdit metrics in one batched pass,
 * a greedy continuation for exact match and a sampled continuation for fluency and PPL_r; generation, a greedy
 * answer to every prompt of the case scored as text.
 *
 * <p>Every measurement before an edit is taken on the unedited weights ({@code base}, a snapshot taken before any
 * edit; the edit journal keeps those tensors alive while edits are installed). Locality and PPL_r after an edit
 * compare with, or are scored by, that unedited model. Token conventions: a prompt is what
 * {@link Tokenizer#encodePrompt} gives (BOS where the tokenizer adds one, or the chat template's wrapping), and an
 * answer's tokens are those after the prompt in their joint encoding ({@link Tokenizer#answer}); pairs whose joint
 * encoding merges across the boundary are counted in {@link Observation#boundaryMerges}.
 */
final class CaseMeasurer {
    private final LanguageModel model;
    private final Weights base;
    private final Tokenizer tok;
    private final int fluencyTokens;
    private final long seed;
    private final Protocol protocol;

    /**
     * A measurement and what later measurements of the same case compare with: target_new's log-probabilities and
     * the argmax at each locality answer position, both under the unedited model without context.
     */
    record Observation(Measurement measurement, double[] targetLogProbs, List<long[]> localityArgmax,
            List<String> localityAnswers, int boundaryMerges, long[] targetTokens) {}

    CaseMeasurer(LanguageModel model, Weights base, int fluencyTokens, long seed, Protocol protocol) {
        this.protocol = protocol;
        this.model = model;
        this.base = base;
        this.tok = model.tokenizer();
        this.fluencyTokens = fluencyTokens;
        this.seed = seed;
    }

    /** The case on the unedited model, without context. */
    Observation before(EvalCase c) {
        return observe(c, true, "", null);
    }

    /** The case on the model's current weights, each prompt preceded by {@code prefix}. */
    Observation after(EvalCase c, String prefix, Observation before) {
        return observe(c, false, prefix, before);
    }

    private Observation observe(EvalCase c, boolean onBase, String prefix, Observation before) {
        try {
            return measure(c, onBase, prefix, before);
        } catch (dev.icedit.tensor.IceditException e) {
            throw new dev.icedit.tensor.IceditException("record " + c.index() + ": " + e.getMessage(), e);
        }
    }

    private Observation measure(EvalCase c, boolean onBase, String prefix, Observation before) {
        // every (prompt, answer) pair of the case, in the order edit, rephrase, portability items, locality items
        List<String> answerTexts = new ArrayList<>();
        List<Tokenizer.Continuation> answers = new ArrayList<>();
        answers.add(tok.answer(prefix + c.prompt(), c.targetNew()));
        answerTexts.add(c.targetNew());
        if (c.rephrasePrompt() != null) {
            answers.add(tok.answer(prefix + c.rephrasePrompt(), c.targetNew()));
            answerTexts.add(c.targetNew());
        }
        for (EvalItem i : c.portability()) {
            answers.add(tok.answer(prefix + i.prompt(), i.answer()));
            answerTexts.add(i.answer());
        }
        for (EvalItem i : c.locality()) {
            answers.add(tok.answer(prefix + i.prompt(), i.answer()));
            answerTexts.add(i.answer());
        }
        int merges = 0;
        for (Tokenizer.Continuation a : answers) {
            merges += a.merged() ? 1 : 0;
        }
        long[] target = answers.get(0).tokens();
        Observation teacherForced = protocol.teacherForced() ? teacherForced(c, onBase, prefix, before, answers) : null;
        GenerationScores generation = null;
        List<String> localityAnswers = null;
        if (protocol.generation()) {
            List<String> generated = generateAnswers(onBase, answers);
            localityAnswers = generated.subList(generated.size() - c.locality().size(), generated.size());
            generation = scoreGenerated(c, generated, answerTexts, before);
        }
        Measurement m = teacherForced == null
                ? new Measurement(null, null, null, null, null, null, null, null, null, null, null, generation)
                : teacherForced.measurement().withGeneration(generation);
        return new Observation(m, teacherForced == null ? null : teacherForced.targetLogProbs(),
                teacherForced == null ? null : teacherForced.localityArgmax(), localityAnswers, merges, target);
    }

    /** The KnowEdit metrics: one teacher-forced pass, a greedy continuation for exact match, a sampled text. */
    private Observation teacherForced(EvalCase c, boolean onBase, String prefix, Observation before,
            List<Tokenizer.Continuation> answers) {
        List<Scorer.Pair> pairs = new ArrayList<>();
        for (Tokenizer.Continuation a : answers) {
            pairs.add(new Scorer.Pair(a.prompt(), a.tokens()));
        }
        long[] target = answers.get(0).tokens();
        long[] promptIds = tok.encodePrompt(c.prompt());
        long[] inputIds = prefix.isEmpty() ? promptIds : tok.encodePrompt(prefix + c.prompt());
        int budget = fluencyTokens - promptIds.length;
        List<Scorer.Scored> scored;
        long[] greedy;
        long[] sampled = new long[0];
        Scorer.Scored continuation = null;
        try (LanguageModel.Lease lease = model.lease()) {
            Weights w = onBase ? base : lease.weights();
            scored = Scorer.score(model, w, pairs);
            greedy = Generator.generate(model, w, List.of(inputIds), GenerationOptions.greedy(target.length)).get(0);
            if (budget > 0) {
                // top-k 5 sampling for as many tokens as make fluencyTokens with the prompt, as the reference does
                sampled = Generator.generate(model, w, List.of(inputIds),
                        new GenerationOptions(budget, 0, 1.0, 5, 1.0, seed * 1_000_003L + c.index(), false)).get(0);
            }
            if (sampled.length > 0) {
                continuation = Scorer.score(model, base, List.of(new Scorer.Pair(promptIds, sampled))).get(0);
            }
        }

        int k = 0;
        Scorer.Scored edit = scored.get(k++);
        Double rephrase = c.rephrasePrompt() == null ? null : accuracy(scored.get(k++));
        Map<String, List<Double>> portability = new LinkedHashMap<>();
        for (EvalItem i : c.portability()) {
            portability.computeIfAbsent(i.type(), t -> new ArrayList<>()).add(accuracy(scored.get(k++)));
        }
        Map<String, List<Double>> locality = new LinkedHashMap<>();
        List<long[]> localityArgmax = new ArrayList<>();
        for (int j = 0; j < c.locality().size(); j++) {
            long[] argmax = scored.get(k++).argmax();
            localityArgmax.add(argmax);
            if (before != null) {
                locality.computeIfAbsent(c.locality().get(j).type(), t -> new ArrayList<>())
                        .add(TokenMetrics.agreement(before.localityArgmax().get(j), argmax));
            }
        }
        double[] targetLogProbs = before == null ? edit.logProbs() : before.targetLogProbs();
        Double pplR = continuation == null ? null : TokenMetrics.perplexityRatio(continuation.logProbs(), targetLogProbs);
        String greedyText = tok.decode(greedy);
        String generated = tok.decode(sampled);
        Measurement m = new Measurement(accuracy(edit), rephrase, Measurement.meanOfItems(portability), portability,
                Measurement.meanOfItems(locality), locality, Fluency.score(tok.decode(concat(promptIds, sampled))),
                pplR, TokenMetrics.exactMatch(greedyText, c.targetNew()), greedyText, generated);
        return new Observation(m, targetLogProbs, localityArgmax, null, 0, target);
    }

    /**
     * The generation protocol's answers: greedy free generation after each prompt, in one batch, each row cut to
     * its own budget ({@link AnswerMatch#budget} of its answer's tokens), EOS removed, then at its first newline or
     * sentence end.
     */
    private List<String> generateAnswers(boolean onBase, List<Tokenizer.Continuation> answers) {
        int longest = 0;
        List<long[]> prompts = new ArrayList<>();
        for (Tokenizer.Continuation a : answers) {
            prompts.add(a.prompt());
            longest = Math.max(longest, AnswerMatch.budget(a.tokens().length));
        }
        List<long[]> rows;
        try (LanguageModel.Lease lease = model.lease()) {
            rows = Generator.generate(model, onBase ? base : lease.weights(), prompts, GenerationOptions.greedy(longest));
        }
        List<Long> eos = tok.eosTokenIds();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            int budget = AnswerMatch.budget(answers.get(i).tokens().length);
            long[] row = java.util.Arrays.stream(rows.get(i)).limit(budget).toArray();
            int end = 0;
            while (end < row.length && !eos.contains(row[end])) {
                end++;
            }
            out.add(AnswerMatch.firstAnswer(tok.decode(java.util.Arrays.copyOf(row, end))));
        }
        return out;
    }

    private static GenerationScores scoreGenerated(EvalCase c, List<String> generated, List<String> answerTexts,
            Observation before) {
        int k = 0;
        String edit = generated.get(k);
        String editAnswer = answerTexts.get(k++);
        Double rephraseMatch = null;
        Double rephraseContains = null;
        if (c.rephrasePrompt() != null) {
            rephraseMatch = AnswerMatch.exactMatch(generated.get(k), answerTexts.get(k));
            rephraseContains = AnswerMatch.contains(generated.get(k), answerTexts.get(k));
            k++;
        }
        Map<String, List<Double>> portMatch = new LinkedHashMap<>();
        Map<String, List<Double>> portContains = new LinkedHashMap<>();
        for (EvalItem i : c.portability()) {
            portMatch.computeIfAbsent(i.type(), t -> new ArrayList<>()).add(AnswerMatch.exactMatch(generated.get(k), answerTexts.get(k)));
            portContains.computeIfAbsent(i.type(), t -> new ArrayList<>()).add(AnswerMatch.contains(generated.get(k), answerTexts.get(k)));
            k++;
        }
        Map<String, List<Double>> locality = new LinkedHashMap<>();
        if (before != null) {
            for (int j = 0; j < c.locality().size(); j++) {
                locality.computeIfAbsent(c.locality().get(j).type(), t -> new ArrayList<>())
                        .add(AnswerMatch.exactMatch(generated.get(k + j), before.localityAnswers().get(j)));
            }
        }
        return new GenerationScores(AnswerMatch.exactMatch(edit, editAnswer), AnswerMatch.contains(edit, editAnswer),
                rephraseMatch, rephraseContains, portMatch, portContains, locality, List.copyOf(generated));
    }

    private static double accuracy(Scorer.Scored s) {
        return TokenMetrics.tokenAccuracy(s.argmax(), s.tokens());
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
