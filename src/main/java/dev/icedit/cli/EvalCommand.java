package dev.icedit.cli;

import dev.icedit.eval.Evaluation;
import dev.icedit.eval.data.Contexts;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.eval.report.Summary;
import dev.icedit.eval.run.EvalListener;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.eval.run.MethodPlan;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.Backend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate an editing method on a KnowEdit or CounterFact file: Edit Success, Rephrase,"
                + " Portability, Locality, Fluency, PPL_r and exact match, before and after each edit.",
            "Writes DIR/cases.jsonl, DIR/summary.json and DIR/report.html; run again with the same --out to resume."})
final class EvalCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @ParentCommand Main main;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "KnowEdit (ZsRE, wiki_counterfact, wiki_recent, WikiBio) or EasyEdit CounterFact file, JSON or JSON lines")
    Path data;
    @Option(names = "--contexts", paramLabel = "FILE",
            description = "JSON lines {\"index\": N, \"context\": \"...\" or [\"...\", ...]}: context sentences for the"
                    + " records of --data by 0-based index, which ICE reads instead of its default (they replace a"
                    + " record's own 'context')")
    Path contexts;
    @Option(names = "--method", required = true, paramLabel = "M",
            description = "editing method (see 'icedit edit --list-methods'), NONE (no edit) or IN-CONTEXT (the fact in the prompt)")
    String method;
    @Option(names = "--hparams", paramLabel = "FILE|PRESET",
            description = "hyper-parameter YAML file or preset name (default: the preset for the model, shipped or derived;"
                    + " the cases a preset from 'icedit tune' was tuned on are left out)")
    String hparams;
    @Option(names = "--limit", paramLabel = "N", description = "evaluate at most N cases") Integer limit;
    @Option(names = "--offset", paramLabel = "K", defaultValue = "0", description = "pass over the first K usable cases")
    int offset;
    @Option(names = "--mode", paramLabel = "single|continual", defaultValue = "single",
            description = "single: each edit reverted after its case (default); continual: edits accumulate")
    String mode;
    @Option(names = "--schedule", paramLabel = "immediate|final", defaultValue = "immediate",
            description = "continual mode: measure each case right after its edit (default) or all after the last edit")
    String schedule;
    @Option(names = "--seed", paramLabel = "S", description = "seed of the method and of the fluency sampling") Long seed;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (resumed if it holds a run)")
    Path out;
    @Option(names = "--probes", paramLabel = "N", defaultValue = "10",
            description = "continual mode: size of the probe set of the curve (default ${DEFAULT-VALUE})") int probes;
    @Option(names = "--probe-every", paramLabel = "K", defaultValue = "10",
            description = "continual mode: a curve point every K edits (default ${DEFAULT-VALUE})") int probeEvery;
    @Option(names = "--fluency-tokens", paramLabel = "N", defaultValue = "100",
            description = "length in tokens, prompt included, of the text sampled for fluency and PPL_r (default ${DEFAULT-VALUE})")
    int fluencyTokens;
    @Option(names = "--protocol", paramLabel = "teacher-forced|generation|both", defaultValue = "teacher-forced",
            description = "teacher-forced: the KnowEdit metrics (default); generation: greedy free answers scored as text;"
                    + " both (see docs/EVALUATION.md)")
    String protocol;
    @Option(names = "--resamples", paramLabel = "B", defaultValue = "" + Bootstrap.DEFAULT_RESAMPLES,
            description = "bootstrap resamples of the 95%% intervals (default ${DEFAULT-VALUE})") int resamples;
    @Option(names = "--cache", paramLabel = "DIR",
            description = "where pre-edit observations are kept and reused by later runs on the same model, data and"
                    + " settings, e.g. another method (default: $XDG_CACHE_HOME/icedit/eval, else ~/.cache/icedit/eval)")
    Path cache;
    @Option(names = "--no-cache", description = "measure every pre-edit observation, keep none") boolean noCache;
    @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
            description = "single mode: evaluate N cases at a time, each in a worker with its own copy of the model"
                    + " (N times its weights in memory) and max(1, T/N) libtorch threads, T being $ICEDIT_THREADS or"
                    + " the number of processors; the records are those of one job with that thread count"
                    + " (default ${DEFAULT-VALUE})")
    int jobs;
    @Option(names = "--quiet", description = "no progress bar") boolean quiet;
    @Option(names = "--chat-template", description = ModelOption.CHAT_TEMPLATE_HELP) boolean chatTemplate;

    /** The user's cache directory for icedit's pre-edit observations, as the XDG base directory rules place it. */
    static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path root = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return root.resolve("icedit").resolve("eval");
    }

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        EvalOptions options = new EvalOptions(method, hparams, EvalOptions.Mode.parse(mode),
                EvalOptions.Schedule.parse(schedule), limit, offset, seed, fluencyTokens, probes, probeEvery,
                Protocol.parse(protocol), resamples).withBeforeCache(noCache ? null : cache != null ? cache : defaultCache())
                .withJobs(jobs);
        if (hparams != null && (method.equalsIgnoreCase(MethodPlan.NONE) || method.equalsIgnoreCase(MethodPlan.IN_CONTEXT))) {
            err.println("note: --hparams is ignored for " + method.toUpperCase(Locale.ROOT));
        }
        Dataset dataset = DatasetLoader.load(data);
        err.printf("%s: %s layout, %d usable cases, %d skipped%n", data, dataset.layout().displayName(),
                dataset.cases().size(), dataset.skipped().size());
        if (contexts != null) {
            dataset = Contexts.attach(dataset, contexts);
            err.printf("%s: context sentences for %d cases%n", contexts,
                    dataset.cases().stream().filter(c -> !c.context().isEmpty()).count());
        }
        dataset.skipped().stream().limit(5).forEach(s -> err.println("  skipped " + s));
        if (dataset.skipped().size() > 5) {
            err.println("  ... (all skipped records are listed in report.html)");
        }
        err.flush();
        if (jobs > 1) {
            Backend.threadsForWorkers(jobs); // process-global: only before the engine starts (the model loads)
        }
        try (LanguageModel m = model.load(chatTemplate)) {
            Evaluation.Outcome outcome;
            try (Progress progress = quiet ? Progress.quiet() : new Progress(err, main.terminal, true)) {
                outcome = Evaluation.run(m, dataset, options, out, new Bar(err, progress));
            }
            print(stdout, outcome.summary());
            long failed = outcome.result().cases().stream().filter(c -> c.editError() != null).count();
            if (failed > 0) {
                stdout.println("  " + failed + " case(s) got no edit because the method failed (edit_error in cases.jsonl)");
            }
            stdout.println("wrote " + out.resolve("summary.json") + ", " + out.resolve("cases.jsonl") + " and "
                    + out.resolve("report.html"));
        }
        return 0;
    }

    private static void print(PrintWriter out, Map<String, Object> s) {
        out.printf("%s on %s (%s%s), %s cases:%n", s.get("method"), s.get("dataset"), s.get("mode"),
                s.get("schedule") == null ? "" : ", " + s.get("schedule"), s.get("cases"));
        Object merges = s.get("boundary_merges");
        if (merges instanceof Number n && n.intValue() > 0) {
            out.printf("  %-17s %d (prompt, answer) pairs whose answer tokens merge into the prompt's last token%n",
                    "boundary_merges", n.intValue());
        } else {
            out.printf("  %-17s 0%n", "boundary_merges");
        }
        SummaryTable.print(out, s);
        Object perEdit = s.get("seconds_per_edit");
        out.printf("  %-17s %s%n", "seconds_per_edit", perEdit == null ? "n/a"
                : String.format(Locale.ROOT, "%.2f", ((Number) perEdit).doubleValue()));
    }

    /** Progress on stderr (unless --quiet): cases (or edits) done, rate and time left; and notes. */
    private static final class Bar implements EvalListener {
        private final PrintWriter err;
        private final Progress progress;
        private String phase;
        private int total;

        Bar(PrintWriter err, Progress progress) {
            this.err = err;
            this.progress = progress;
        }

        @Override
        public void started(String phase, int total, int done) {
            this.phase = phase;
            this.total = total;
            progress.show(phase, done, total, null);
        }

        @Override
        public void advanced(int done) {
            progress.show(phase, done, total, null);
        }

        @Override
        public void finished() {
            progress.finish();
        }

        @Override
        public void info(String line) {
            err.println(line);
            err.flush();
        }
    }
}
