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
        return beforeAll(List.of(c)).get(0);
    }

    /**
     * The cases on the unedited model, without context, measured together: every teacher-forced pair of every case
     * in one scoring batch, the greedy and the sampled continuations of all cases each in one batched generation
     * (each row with its own length and its own random stream, seeded per case as {@link #before} seeds it), so a
     * case's observation does not depend on the others in the batch.
     */
    List<Observation> beforeAll(List<EvalCase> cs) {
        try {
            return measure(cs, true, java.util.Collections.nCopies(cs.size(), ""), null);
        } catch (dev.icedit.tensor.IceditException e) {
            if (cs.size() == 1) {
                throw new dev.icedit.tensor.IceditException("record " + cs.get(0).index() + ": " + e.getMessage(), e);
            }
            // name the record that fails: measured one by one, the first bad case throws with its index
            List<Observation> out = new ArrayList<>();
            for (EvalCase c : cs) {
                out.add(before(c));
            }
            return out;
        }
    }

    /** The case on the model's current weights, each prompt preceded by {@code prefix}. */
    Observation after(EvalCase c, String prefix, Observation before) {
        try {
            return measure(List.of(c), false, List.of(prefix), List.of(before)).get(0);
        } catch (dev.icedit.tensor.IceditException e) {
            throw new dev.icedit.tensor.IceditException("record " + c.index() + ": " + e.getMessage(), e);
        }
    }

    /** A case's (prompt, answer) pairs, in the order edit, rephrase, portability items, locality items. */
    private record Pairs(List<Tokenizer.Continuation> answers, List<String> answerTexts, int merges) {}

    private Pairs pairs(EvalCase c, String prefix) {
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
        return new Pairs(answers, answerTexts, merges);
    }

    private List<Observation> measure(List<EvalCase> cs, boolean onBase, List<String> prefixes,
            List<Observation> befores) {
        List<Pairs> all = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            all.add(pairs(cs.get(i), prefixes.get(i)));
        }
        List<Observation> teacherForced = protocol.teacherForced() ? teacherForced(cs, onBase, prefixes, befores, all)
                : null;
        List<List<String>> generated = protocol.generation() ? generateAnswers(onBase, all) : null;
        List<Observation> out = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            EvalCase c = cs.get(i);
            Observation before = befores == null ? null : befores.get(i);
            GenerationScores generation = null;
            List<String> localityAnswers = null;
            if (generated != null) {
                List<String> g = generated.get(i);
                localityAnswers = g.subList(g.size() - c.locality().size(), g.size());
                generation = scoreGenerated(c, g, all.get(i).answerTexts(), before);
            }
            Observation tf = teacherForced == null ? null : teacherForced.get(i);
            Measurement m = tf == null
                    ? new Measurement(null, null, null, null, null, null, null, null, null, null, null, generation)
                    : tf.measurement().withGeneration(generation);
            out.add(new Observation(m, tf == null ? null : tf.targetLogProbs(), tf == null ? null : tf.localityArgmax(),
                    localityAnswers, all.get(i).merges(), all.get(i).answers().get(0).tokens()));
        }
        return out;
    }

    /**
     * The KnowEdit metrics of each case: one teacher-forced pass, a greedy continuation for exact match, a sampled
     * text scored by the unedited model; each step over all cases in one batch.
     */
    private List<Observation> teacherForced(List<EvalCase> cs, boolean onBase, List<String> prefixes,
            List<Observation> befores, List<Pairs> all) {
        List<List<Scorer.Pair>> pairs = new ArrayList<>();
        List<long[]> promptIds = new ArrayList<>();
        List<long[]> inputIds = new ArrayList<>();
        List<GenerationOptions> greedyOptions = new ArrayList<>();
        List<long[]> samplePrompts = new ArrayList<>();
        List<GenerationOptions> sampleOptions = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            EvalCase c = cs.get(i);
            List<Scorer.Pair> casePairs = new ArrayList<>();
            for (Tokenizer.Continuation a : all.get(i).answers()) {
                casePairs.add(new Scorer.Pair(a.prompt(), a.tokens()));
            }
            pairs.add(casePairs);
            long[] prompt = tok.encodePrompt(c.prompt());
            long[] input = prefixes.get(i).isEmpty() ? prompt : tok.encodePrompt(prefixes.get(i) + c.prompt());
            promptIds.add(prompt);
            inputIds.add(input);
            greedyOptions.add(GenerationOptions.greedy(all.get(i).answers().get(0).tokens().length));
            int budget = fluencyTokens - prompt.length;
            if (budget > 0) {
                // top-k 5 sampling for as many tokens as make fluencyTokens with the prompt, as the reference does
                samplePrompts.add(input);
                sampleOptions.add(new GenerationOptions(budget, 0, 1.0, 5, 1.0, seed * 1_000_003L + c.index(), false));
            }
        }
        // Scoring stays one batch per case, as a case measured alone scores: a batch padded to other cases' lengths
        // rounds differently (log-probabilities 1e-7 apart, PPL_r 1e-5 relative). Generation is batched across
        // cases; it is most of the time, and its rounding shows only if it changes a drawn token.
        List<List<Scorer.Scored>> scored = new ArrayList<>();
        List<long[]> greedy;
        List<long[]> sampledRows;
        List<Scorer.Scored> continuations = new ArrayList<>();
        try (LanguageModel.Lease lease = model.lease()) {
            Weights w = onBase ? base : lease.weights();
            for (List<Scorer.Pair> p : pairs) {
                scored.add(Scorer.score(model, w, p));
            }
            if (cs.size() == 1 && samplePrompts.size() == 1) {
                // one case: its greedy and sampled rows share the prompt, so one batch of two costs one row's steps
                List<long[]> both = Generator.generateEach(model, w, List.of(inputIds.get(0), samplePrompts.get(0)),
                        List.of(greedyOptions.get(0), sampleOptions.get(0)));
                greedy = both.subList(0, 1);
                sampledRows = both.subList(1, 2);
            } else {
                // many cases: apart, since the greedy rows end after a few tokens and would ride along to the end
                greedy = Generator.generateEach(model, w, inputIds, greedyOptions);
                sampledRows = samplePrompts.isEmpty() ? List.of()
                        : Generator.generateEach(model, w, samplePrompts, sampleOptions);
            }
            for (int i = 0, r = 0; i < cs.size(); i++) {
                long[] sampled = fluencyTokens - promptIds.get(i).length > 0 ? sampledRows.get(r++) : new long[0];
                continuations.add(sampled.length == 0 ? null
                        : Scorer.score(model, base, List.of(new Scorer.Pair(promptIds.get(i), sampled))).get(0));
            }
        }

        List<Observation> out = new ArrayList<>();
        for (int ci = 0; ci < cs.size(); ci++) {
            EvalCase c = cs.get(ci);
            Observation before = befores == null ? null : befores.get(ci);
            Scorer.Scored continuation = continuations.get(ci);
            long[] sampled = continuation == null ? new long[0] : continuation.tokens();
            int k = 0;
            Scorer.Scored edit = scored.get(ci).get(k++);
            Double rephrase = c.rephrasePrompt() == null ? null : accuracy(scored.get(ci).get(k++));
            Map<String, List<Double>> portability = new LinkedHashMap<>();
            for (EvalItem i : c.portability()) {
                portability.computeIfAbsent(i.type(), t -> new ArrayList<>()).add(accuracy(scored.get(ci).get(k++)));
            }
            Map<String, List<Double>> locality = new LinkedHashMap<>();
            List<long[]> localityArgmax = new ArrayList<>();
            for (int j = 0; j < c.locality().size(); j++) {
                long[] argmax = scored.get(ci).get(k++).argmax();
                localityArgmax.add(argmax);
                if (before != null) {
                    locality.computeIfAbsent(c.locality().get(j).type(), t -> new ArrayList<>())
                            .add(TokenMetrics.agreement(before.localityArgmax().get(j), argmax));
                }
            }
            double[] targetLogProbs = before == null ? edit.logProbs() : before.targetLogProbs();
            Double pplR = continuation == null ? null
                    : TokenMetrics.perplexityRatio(continuation.logProbs(), targetLogProbs);
            String greedyText = tok.decode(greedy.get(ci));
            String generated = tok.decode(sampled);
            Measurement m = new Measurement(accuracy(edit), rephrase, Measurement.meanOfItems(portability),
                    portability, Measurement.meanOfItems(locality), locality,
                    Fluency.score(tok.decode(concat(promptIds.get(ci), sampled))), pplR,
                    TokenMetrics.exactMatch(greedyText, c.targetNew()), greedyText, generated);
            out.add(new Observation(m, targetLogProbs, localityArgmax, null, 0, all.get(ci).answers().get(0).tokens()));
        }
        return out;
    }

    /**
     * The generation protocol's answers: greedy free generation after each prompt of each case, in one batch, each
     * row cut to its own budget ({@link AnswerMatch#budget} of its answer's tokens), EOS removed, then at its first
     * newline or sentence end.
     */
    private List<List<String>> generateAnswers(boolean onBase, List<Pairs> all) {
        List<long[]> prompts = new ArrayList<>();
        List<GenerationOptions> options = new ArrayList<>();
        for (Pairs p : all) {
            for (Tokenizer.Continuation a : p.answers()) {
                prompts.add(a.prompt());
                options.add(GenerationOptions.greedy(AnswerMatch.budget(a.tokens().length)));
            }
        }
        List<long[]> rows;
        try (LanguageModel.Lease lease = model.lease()) {
            rows = Generator.generateEach(model, onBase ? base : lease.weights(), prompts, options);
        }
        List<Long> eos = tok.eosTokenIds();
        List<List<String>> out = new ArrayList<>();
        int r = 0;
        for (Pairs p : all) {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < p.answers().size(); i++) {
                long[] row = rows.get(r++);
                int end = 0;
                while (end < row.length && !eos.contains(row[end])) {
                    end++;
                }
                answers.add(AnswerMatch.firstAnswer(tok.decode(java.util.Arrays.copyOf(row, end))));
            }
            out.add(answers);
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
