package dev.icedit.eval.run;

import dev.icedit.eval.Evaluation;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.EvalItem;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Seconds of measurement per case under the teacher-forced protocol (as {@code icedit eval} measures): the pre-edit
 * observations as a run takes them (batches of {@link Befores#DEFAULT_BATCH}) and one by one, the post-edit
 * observation (on the unedited weights: the same work as after an edit), a profile of one observation by part, and
 * the NONE method's cases per minute through the library's evaluation. Not a test: run with
 * tools/bench/measurement.sh [N] [DATA] [MODEL].
 */
public final class MeasurementBenchmark {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        Path data = Path.of(args.length > 1 ? args[1] : "../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json");
        Path modelDir = Path.of(args.length > 2 ? args[2] : "models/default");
        int fluencyTokens = 100; // icedit eval's default
        Dataset ds = DatasetLoader.load(data);
        List<EvalCase> warm = ds.select(0, 2);
        List<EvalCase> cases = ds.select(2, n);
        n = cases.size();
        try (LanguageModel m = LanguageModel.load(modelDir)) {
            System.out.printf("measurement benchmark: %d cases of %s (after 2 warm-up cases), %s, threads %s, fluency %d"
                    + " tokens%n", n, data.getFileName(), modelDir,
                    System.getProperty("ai.djl.pytorch.num_threads", "default (all cores)"), fluencyTokens);
            Weights w = m.currentWeights();
            CaseMeasurer measurer = new CaseMeasurer(m, w, fluencyTokens, 0, Protocol.TEACHER_FORCED);
            measurer.beforeAll(warm);
            for (EvalCase c : warm) {
                measurer.after(c, "", measurer.before(c));
            }

            profile(m, w, cases.subList(0, Math.min(8, n)), fluencyTokens);

            long t0 = System.nanoTime();
            List<CaseMeasurer.Observation> batched = new ArrayList<>();
            for (int i = 0; i < n; i += Befores.DEFAULT_BATCH) {
                batched.addAll(measurer.beforeAll(cases.subList(i, Math.min(n, i + Befores.DEFAULT_BATCH))));
            }
            double preBatched = (System.nanoTime() - t0) / 1e9 / n;
            t0 = System.nanoTime();
            List<CaseMeasurer.Observation> single = new ArrayList<>();
            for (EvalCase c : cases) {
                single.add(measurer.before(c));
            }
            double preSingle = (System.nanoTime() - t0) / 1e9 / n;
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                measurer.after(cases.get(i), "", batched.get(i));
            }
            double post = (System.nanoTime() - t0) / 1e9 / n;
            int differ = 0;
            for (int i = 0; i < n; i++) {
                var a = single.get(i).measurement();
                var b = batched.get(i).measurement();
                if (!a.equals(b) || !java.util.Arrays.equals(single.get(i).targetLogProbs(), batched.get(i).targetLogProbs())) {
                    differ++;
                }
            }
            System.out.printf("pre-edit, batched by %d: %.3f s per case; one by one: %.3f s per case%n",
                    Befores.DEFAULT_BATCH, preBatched, preSingle);
            System.out.printf("post-edit (one case at a time): %.3f s per case%n", post);
            System.out.printf("measurement per case: %.3f s (pre batched + post); %.3f s one by one%n",
                    preBatched + post, preSingle + post);
            System.out.printf("batched pre-edit observations that differ from one-by-one ones in any field: %d of %d%n",
                    differ, n);

            Path tmp = Files.createTempDirectory("icedit-measure-bench");
            try {
                Dataset sub = ds.only(cases.stream().map(EvalCase::index).toList());
                t0 = System.nanoTime();
                Evaluation.run(m, sub, new EvalOptions("NONE", null, EvalOptions.Mode.SINGLE,
                        EvalOptions.Schedule.IMMEDIATE, null, 0, 0L, fluencyTokens, 10, 10), tmp.resolve("none"),
                        EvalListener.NONE);
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("method NONE through Evaluation.run: %d cases in %.1f s: %.1f cases/min%n", n, s,
                        n / s * 60);
            } finally {
                try (var walk = Files.walk(tmp)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /** One observation's parts, each timed on its own, one case at a time. */
    private static void profile(LanguageModel m, Weights w, List<EvalCase> cases, int fluencyTokens) {
        Tokenizer tok = m.tokenizer();
        double[] t = new double[5];
        int sampledTokens = 0;
        for (EvalCase c : cases) {
            long s0 = System.nanoTime();
            List<Scorer.Pair> pairs = new ArrayList<>();
            List<String> prompts = new ArrayList<>(List.of(c.prompt()));
            List<String> answers = new ArrayList<>(List.of(c.targetNew()));
            if (c.rephrasePrompt() != null) {
                prompts.add(c.rephrasePrompt());
                answers.add(c.targetNew());
            }
            for (EvalItem i : c.portability()) {
                prompts.add(i.prompt());
                answers.add(i.answer());
            }
            for (EvalItem i : c.locality()) {
                prompts.add(i.prompt());
                answers.add(i.answer());
            }
            for (int i = 0; i < prompts.size(); i++) {
                Tokenizer.Continuation a = tok.answer(prompts.get(i), answers.get(i));
                pairs.add(new Scorer.Pair(a.prompt(), a.tokens()));
            }
            long[] prompt = tok.encodePrompt(c.prompt());
            long s1 = System.nanoTime();
            Scorer.score(m, w, pairs);
            long s2 = System.nanoTime();
            Generator.generate(m, w, List.of(prompt), GenerationOptions.greedy(pairs.get(0).continuation().length));
            long s3 = System.nanoTime();
            long[] sampled = Generator.generate(m, w, List.of(prompt),
                    new GenerationOptions(fluencyTokens - prompt.length, 0, 1.0, 5, 1.0, c.index(), false)).get(0);
            long s4 = System.nanoTime();
            Scorer.score(m, w, List.of(new Scorer.Pair(prompt, sampled)));
            long s5 = System.nanoTime();
            t[0] += (s1 - s0) / 1e9;
            t[1] += (s2 - s1) / 1e9;
            t[2] += (s3 - s2) / 1e9;
            t[3] += (s4 - s3) / 1e9;
            t[4] += (s5 - s4) / 1e9;
            sampledTokens += sampled.length;
        }
        int n = cases.size();
        System.out.printf("profile of one observation (mean of %d cases, one at a time):%n", n);
        String[] names = {"tokenisation", "scoring batch (all pairs)", "greedy continuation",
            String.format("sampled continuation (%.0f tokens)", (double) sampledTokens / n), "scoring the sample"};
        double total = 0;
        for (int i = 0; i < t.length; i++) {
            System.out.printf("  %-36s %7.3f s%n", names[i], t[i] / n);
            total += t[i] / n;
        }
        System.out.printf("  %-36s %7.3f s%n", "sum", total);
    }
}
