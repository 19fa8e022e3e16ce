package dev.icedit.cli;

import dev.icedit.edit.HyperParams;
import dev.icedit.eval.tune.TuneOptions;
import dev.icedit.eval.tune.TuneReport;
import dev.icedit.eval.tune.Tuner;
import dev.icedit.model.LanguageModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "tune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Search the settings that decide whether a method's edits take (the clamp, the layers window,"
                + " the step size; for ROME/MEMIT also the v-steps and the KL factor) on a small sample of facts,"
                + " and write the smallest clamp reaching the wanted Edit Success with Locality kept as a YAML preset.",
            "Writes OUT/tune.md (the candidates), OUT/tune.png (the chart), OUT/tune.json and the preset; the facts"
                + " tuned on are recorded in the preset, and 'icedit eval --hparams PRESET' leaves them out."})
final class TuneCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--method", required = true, paramLabel = "M", description = "editing method to tune") String method;
    @Option(names = "--data", paramLabel = "FILE", description = "evaluation file(s) to sample the facts from"
            + " (repeatable; default: the KnowEdit ZsRE, wiki_counterfact and wiki_recent files in ../shared/data)")
    List<Path> data = new ArrayList<>();
    @Option(names = "--facts", paramLabel = "N", defaultValue = "12",
            description = "facts to tune on, spread over the files (default ${DEFAULT-VALUE})") int facts;
    @Option(names = "--target", paramLabel = "PCT", defaultValue = "95",
            description = "Edit Success a setting must reach on them (default ${DEFAULT-VALUE})") double target;
    @Option(names = "--min-locality", paramLabel = "PCT", defaultValue = "90",
            description = "Locality it must keep on their unrelated prompts (default ${DEFAULT-VALUE})") double minLocality;
    @Option(names = "--budget", paramLabel = "MINUTES", defaultValue = "30",
            description = "start no candidate that would end later than this (default ${DEFAULT-VALUE})") double budget;
    @Option(names = "--from", paramLabel = "FILE|PRESET",
            description = "where the search starts (default: the preset for the model, as 'icedit edit' picks it)")
    String from;
    @Option(names = "--lr", paramLabel = "X", description = "starting step size (lr; ROME/MEMIT: v_lr)") Double lr;
    @Option(names = "--clamp", paramLabel = "X",
            description = "starting clamp (norm_constraint; ROME/MEMIT: clamp_norm_factor)") Double clamp;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "change a key of the starting point (repeatable)")
    Map<String, String> set = new LinkedHashMap<>();
    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seed of the sample (default 0)")
    long seed;
    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: tune-METHOD; resumed if"
            + " it holds the same search)") Path out;
    @Option(names = "--save", paramLabel = "FILE", description = "where to write the preset (default: OUT/METHOD-tuned.yaml)")
    Path save;
    @Option(names = "--chat-template", description = ModelOption.CHAT_TEMPLATE_HELP) boolean chatTemplate;
    @Option(names = "--quiet", description = "no progress bar") boolean quiet;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Map<String, Object> changes = HyperParams.parseValues(set);
        TuneOptions options = new TuneOptions(method, from, changes, lr, clamp, data, facts, target, minLocality,
                budget, seed);
        Path dir = out != null ? out : Path.of("tune-" + method.toUpperCase(Locale.ROOT));
        Path preset = save != null ? save : dir.resolve(method.toUpperCase(Locale.ROOT) + "-tuned.yaml");
        try (LanguageModel m = model.load(chatTemplate)) {
            Tuner.Result r = new Tuner(m, options, dir, new Progress(err, !quiet, budget)).run();
            TuneReport.write(r, m, dir, preset);
            stdout.println(TuneReport.table(r));
            stdout.printf(Locale.ROOT, "%d candidates in %.1f minutes (budget %s); the search stopped when %s.%n",
                    r.candidates().size(), r.minutes(), budget, r.stopReason());
            if (r.chosen() == null) {
                stdout.println("no candidate reached Edit Success " + target + " with Locality " + minLocality
                        + "; no preset written (see " + dir.resolve("tune.md") + ")");
                return 1;
            }
            stdout.printf(Locale.ROOT, "chosen: candidate %d %s: Edit Success %.1f, Locality %s%n",
                    r.chosen().number(), r.chosen().settings(), r.chosen().editSucc(),
                    r.chosen().locality() == null ? "n/a" : String.format(Locale.ROOT, "%.1f", r.chosen().locality()));
            stdout.println("wrote " + preset + ", " + dir.resolve("tune.md") + ", " + dir.resolve("tune.png") + " and "
                    + dir.resolve("tune.json"));
            return 0;
        }
    }

    /** One line per candidate on stderr with the time estimate, and a bar over its edits. */
    private static final class Progress implements Tuner.Listener {
        private final PrintWriter err;
        private final boolean bars;
        private final double budget;
        private ProgressBar bar;

        Progress(PrintWriter err, boolean bars, double budget) {
            this.err = err;
            this.bars = bars;
            this.budget = budget;
        }

        @Override
        public void candidateStarted(int number, String what, int edits, double elapsed, Double eta) {
            err.printf(Locale.ROOT, "candidate %d, %s: %d edits%s (%.1f of %s minutes used)%n", number, what, edits,
                    eta == null ? "" : String.format(Locale.ROOT, ", about %.1f minutes", eta), elapsed, budget);
            err.flush();
            if (bars) {
                bar = new ProgressBarBuilder().setTaskName("candidate " + number).setInitialMax(edits)
                        .setStyle(ProgressBarStyle.ASCII).setUnit(" edits", 1)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
            }
        }

        @Override
        public void editDone(int done, int total) {
            if (bar != null) {
                bar.stepTo(done);
            }
        }

        @Override
        public void candidateFinished(Tuner.Candidate c, double elapsed) {
            if (bar != null) {
                bar.close();
                bar = null;
            }
            err.printf(Locale.ROOT, "  -> Edit Succ. %s, Locality %s: %s (%.1f minutes)%n",
                    c.editSucc() == null ? "n/a" : String.format(Locale.ROOT, "%.1f", c.editSucc()),
                    c.locality() == null ? "n/a" : String.format(Locale.ROOT, "%.1f", c.locality()),
                    c.passed() ? "passes" : c.error() != null ? "fails (" + c.error() + ")" : "fails", c.minutes());
            err.flush();
        }

        @Override
        public void info(String line) {
            err.println(line);
            err.flush();
        }
    }
}
