package dev.icedit.eval.run;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.EvalItem;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Times the parts of one observation (teacher-forced) on N cases. Not a test. */
public final class MeasurementProfile {
    public static void main(String[] args) {
        Path model = Path.of(args.length > 0 ? args[0] : "models/default");
        Path data = Path.of(args.length > 1 ? args[1] : "../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json");
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int fluencyTokens = 100;
        Dataset ds = DatasetLoader.load(data);
        List<EvalCase> cases = ds.select(0, n + 2);
        double[] t = new double[6];
        String[] names = {"tokenise", "scorer batch", "greedy", "sampled", "score continuation", "observe() total"};
        try (LanguageModel m = LanguageModel.load(model)) {
            Tokenizer tok = m.tokenizer();
            Weights w = m.currentWeights();
            CaseMeasurer measurer = new CaseMeasurer(m, w, fluencyTokens, 0, dev.icedit.eval.metrics.Protocol.TEACHER_FORCED);
            int sampledTokens = 0;
            for (int ci = 0; ci < cases.size(); ci++) {
                boolean warm = ci < 2;
                EvalCase c = cases.get(ci);
                long s0 = System.nanoTime();
                List<Tokenizer.Continuation> answers = new ArrayList<>();
                answers.add(tok.answer(c.prompt(), c.targetNew()));
                if (c.rephrasePrompt() != null) {
                    answers.add(tok.answer(c.rephrasePrompt(), c.targetNew()));
                }
                for (EvalItem i : c.portability()) {
                    answers.add(tok.answer(i.prompt(), i.answer()));
                }
                for (EvalItem i : c.locality()) {
                    answers.add(tok.answer(i.prompt(), i.answer()));
                }
                List<Scorer.Pair> pairs = new ArrayList<>();
                for (Tokenizer.Continuation a : answers) {
                    pairs.add(new Scorer.Pair(a.prompt(), a.tokens()));
                }
                long[] promptIds = tok.encodePrompt(c.prompt());
                long s1 = System.nanoTime();
                Scorer.score(m, w, pairs);
                long s2 = System.nanoTime();
                Generator.generate(m, w, List.of(promptIds), GenerationOptions.greedy(answers.get(0).tokens().length));
                long s3 = System.nanoTime();
                long[] sampled = Generator.generate(m, w, List.of(promptIds),
                        new GenerationOptions(fluencyTokens - promptIds.length, 0, 1.0, 5, 1.0, c.index(), false)).get(0);
                long s4 = System.nanoTime();
                Scorer.score(m, w, List.of(new Scorer.Pair(promptIds, sampled)));
                long s5 = System.nanoTime();
                measurer.before(c);
                long s6 = System.nanoTime();
                if (!warm) {
                    t[0] += (s1 - s0) / 1e9;
                    t[1] += (s2 - s1) / 1e9;
                    t[2] += (s3 - s2) / 1e9;
                    t[3] += (s4 - s3) / 1e9;
                    t[4] += (s5 - s4) / 1e9;
                    t[5] += (s6 - s5) / 1e9;
                    sampledTokens += sampled.length;
                }
            }
            System.out.printf("threads %s, %d cases (after 2 warm-up), %.1f sampled tokens per case%n",
                    System.getProperty("ai.djl.pytorch.num_threads", "default"), n, (double) sampledTokens / n);
            for (int i = 0; i < t.length; i++) {
                System.out.printf("  %-20s %8.4f s per case%n", names[i], t[i] / n);
            }
        }
    }
}
