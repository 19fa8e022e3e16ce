package dev.icedit.eval.tune;

import dev.icedit.edit.HyperParams;
import dev.icedit.edit.Presets;
import dev.icedit.edit.Tunable;
import dev.icedit.eval.Evaluation;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.TunedOn;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.eval.run.CaseRecord;
import dev.icedit.eval.run.EvalListener;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Searches the settings that decide whether a method's edits take ({@link Tunable}: the clamp, the layers window,
 * the step size, and for ROME/MEMIT the v-steps, KL factor and MEMIT's weight of the old keys) on a small sample of
 * facts, and picks the smallest clamp that reaches the wanted Edit Success while keeping Locality. Each candidate
 * is an ordinary single-edit evaluation of the sample ({@link Evaluation#run}, in its own directory under
 * {@code out/candidates}), so its numbers are the evaluation's own, and a search run again with the same options
 * resumes.
 *
 * <p>The search: the starting point; then the clamp doubled until a candidate passes (or halved while the start
 * passes, to find the smallest that still does), up to 64 times larger or 16 times smaller; one geometric step
 * between the smallest passing clamp and the largest failing one below it; at that failing clamp the windows moved
 * earlier and later by half their size, twice the step size, and the method's variants that work harder (ROME/MEMIT
 * twice the v-steps, MEMIT a quarter of mom2_update_weight); at the chosen clamp ROME/MEMIT's KL factor times four.
 * When nothing passes, the variants that work harder at the largest clamp tried, and where only Locality failed the
 * larger KL factor. Before each candidate the time it will take is estimated from those before it, and
 * it is started only if it ends within the budget.
 */
public final class Tuner {
    static final int MAX_DOUBLINGS = 6;
    static final int MAX_HALVINGS = 4;

    /** Progress of a search; calls come from the searching thread. */
    public interface Listener {
        Listener NONE = new Listener() {};

        /** A candidate starts: its number, what it changes, how many edits, and the estimate of its minutes. */
        default void candidateStarted(int number, String what, int edits, double elapsedMinutes, Double etaMinutes) {}

        /** One more edit of the candidate was measured. */
        default void editDone(int done, int total) {}

        default void candidateFinished(Candidate c, double elapsedMinutes) {}

        default void info(String line) {}
    }

    /** One evaluated setting: its numbers on the sample and whether it meets both targets. */
    public record Candidate(int number, String stage, String change, Map<String, Object> settings, double clamp,
            Double editSucc, Double locality, int edits, double minutes, String error, boolean passed,
            Path directory) {}

    /** What the search found: every candidate, the chosen one (null when none passed), and why it stopped. */
    public record Result(String method, Presets.Choice start, List<Candidate> candidates, Candidate chosen,
            Object chosenHyperParams, String stopReason, double minutes, TunedOn tunedOn, TuneOptions options,
            String clampKey, String lrKey) {}

    private final LanguageModel model;
    private final TuneOptions opts;
    private final Path out;
    private final Listener listener;
    private final List<Candidate> candidates = new ArrayList<>();
    private final List<Object> tried = new ArrayList<>();
    private final List<Object> hparams = new ArrayList<>();
    private final long started = System.nanoTime();
    private Tunable tunable;
    private List<Dataset> sample;
    private String stopReason;

    public Tuner(LanguageModel model, TuneOptions opts, Path out, Listener listener) {
        this.model = model;
        this.opts = opts;
        this.out = out;
        this.listener = listener == null ? Listener.NONE : listener;
    }

    public Result run() {
        Presets.Choice start = Presets.resolve(opts.method(), model.config(), opts.from());
        Object startHp = opts.startChanges().isEmpty() ? start.hyperParams()
                : HyperParams.with(start.hyperParams(), opts.startChanges());
        tunable = Tunable.of(start.method(), startHp);
        if (opts.startClamp() != null) {
            startHp = HyperParams.with(startHp, Map.of(tunable.clampKey(), opts.startClamp()));
        }
        if (opts.startLr() != null) {
            startHp = HyperParams.with(startHp, Map.of(tunable.lrKey(), opts.startLr()));
        }
        TunedOn tunedOn = sample();
        claim(startHp, tunedOn);
        search(startHp);
        Candidate chosen = candidates.stream().filter(Candidate::passed)
                .min(Comparator.comparingDouble(Candidate::clamp)
                        .thenComparing(c -> -c.editSucc())
                        .thenComparing(c -> -(c.locality() == null ? 100 : c.locality()))
                        .thenComparingInt(Candidate::number))
                .orElse(null);
        if (stopReason == null) {
            stopReason = chosen == null ? "no candidate reached the targets" : "all its stages ran";
        }
        return new Result(start.method(), start, List.copyOf(candidates), chosen,
                chosen == null ? null : hparams.get(chosen.number() - 1), stopReason, minutes(), tunedOn, opts,
                tunable.clampKey(), tunable.lrKey());
    }

    /**
     * Makes {@code out}, or checks that the search it holds had the same start, sample and targets (then its
     * candidates resume); a search with other settings is refused rather than mixed in.
     */
    private void claim(Object startHp, TunedOn tunedOn) {
        Map<String, Object> settings = new java.util.LinkedHashMap<>();
        settings.put("method", tunable.method());
        settings.put("model_fingerprint", model.fingerprint());
        settings.put("start", HyperParams.asMap(startHp));
        settings.put("tuned_on", tunedOn.asYaml());
        settings.put("target_edit_succ", opts.targetEditSucc());
        settings.put("min_locality", opts.minLocality());
        if (model.tokenizer().chatTemplate()) {
            settings.put("chat_template", true); // absent when off, so that searches from before the option resume
        }
        Path file = out.resolve("search.json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            com.fasterxml.jackson.databind.JsonNode now = json.readTree(json.writeValueAsString(settings));
            if (Files.exists(file)) {
                if (!json.readTree(file.toFile()).equals(now)) {
                    throw IceditException.inFile(out, "holds a search with other settings (see search.json), so it"
                            + " cannot be resumed; use another --out directory");
                }
                listener.info("resuming the search in " + out + " (finished candidates are read back)");
            }
            Files.createDirectories(out.resolve("candidates"));
            json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), now);
        } catch (IOException e) {
            throw IceditException.inFile(out, "cannot write: " + e.getMessage());
        }
    }

    /** The facts: per file an even share, drawn at random (seeded) from its usable cases. */
    private TunedOn sample() {
        sample = new ArrayList<>();
        List<TunedOn.Entry> entries = new ArrayList<>();
        int files = opts.data().size();
        for (int f = 0; f < files; f++) {
            Dataset all = DatasetLoader.load(opts.data().get(f));
            int want = opts.facts() / files + (f < opts.facts() % files ? 1 : 0);
            List<Integer> indices = new ArrayList<>(all.cases().stream().map(EvalCase::index).toList());
            SplittableRandom r = new SplittableRandom(opts.seed() * 31 + f);
            for (int i = indices.size() - 1; i > 0; i--) { // Fisher-Yates
                int j = r.nextInt(i + 1);
                Integer t = indices.get(i);
                indices.set(i, indices.get(j));
                indices.set(j, t);
            }
            List<Integer> chosen = new ArrayList<>(indices.subList(0, Math.min(want, indices.size())));
            chosen.sort(null);
            if (chosen.isEmpty()) {
                throw IceditException.inFile(all.file(), "no usable cases to tune on");
            }
            sample.add(all.only(chosen));
            entries.add(new TunedOn.Entry(all.file().getFileName().toString(), all.sha256(), chosen));
        }
        return new TunedOn(entries);
    }

    private void search(Object start) {
        Candidate first = evaluate(start, "start", "as given");
        if (first == null) {
            return;
        }
        // 1. the clamp: halve while passing, double while Edit Success is short
        Object best = first.passed() ? start : null;
        Object current = start;
        if (first.passed()) {
            for (int k = 0; k < MAX_HALVINGS; k++) {
                Object next = tunable.withClamp(current, tunable.clamp(current) / 2);
                Candidate c = evaluate(next, "clamp", "clamp / 2");
                if (c == null || !reachesEditSucc(c)) {
                    break;
                }
                current = next;
                if (c.passed()) {
                    best = next;
                }
            }
        } else if (!reachesEditSucc(first)) {
            for (int k = 0; k < MAX_DOUBLINGS; k++) {
                Object next = tunable.withClamp(current, tunable.clamp(current) * 2);
                Candidate c = evaluate(next, "clamp", "clamp x 2");
                if (c == null) {
                    break;
                }
                current = next;
                if (c.passed()) {
                    best = next;
                    break;
                }
                if (reachesEditSucc(c)) {
                    break; // a larger clamp only costs more locality
                }
            }
        }
        if (best == null) {
            rescue();
            return;
        }
        // 2. one geometric step towards the largest failing clamp below the best
        Object below = largestFailingBelow(tunable.clamp(best));
        if (below != null && tunable.clamp(best) / tunable.clamp(below) > 1.3) {
            double mid = Presets.significant(Math.sqrt(tunable.clamp(best) * tunable.clamp(below)), 2);
            Object m = tunable.withClamp(best, mid);
            Candidate c = evaluate(m, "refine", "clamp " + fmt(mid));
            if (c != null && c.passed()) {
                best = m;
            }
        }
        // 3. at the failing clamp below the best: other windows, twice the step, and the variants that work harder
        below = largestFailingBelow(tunable.clamp(best));
        double lower = below != null ? tunable.clamp(below) : Presets.significant(tunable.clamp(best) / 1.5, 2);
        Object atLower = tunable.withClamp(best, lower);
        for (List<Integer> w : tunable.otherWindows(atLower, model.config().numLayers())) {
            if (evaluate(tunable.withLayers(atLower, w), "window", "layers " + Presets.range(w)) == null) {
                return;
            }
        }
        if (evaluate(tunable.withLrTimes(atLower, 2), "lr", tunable.lrKey() + " x 2") == null) {
            return;
        }
        for (Tunable.Variant v : tunable.effortVariants(atLower)) {
            if (evaluate(v.hparams(), "effort", v.change()) == null) {
                return;
            }
        }
        // 4. at the best clamp: the variants that hold the rest of the model more firmly (ROME/MEMIT)
        for (Tunable.Variant v : tunable.localityVariants(best)) {
            evaluate(v.hparams(), "locality", v.change());
        }
    }

    /** Nothing passed: try the variants that work harder, and a larger KL factor where only locality failed. */
    private void rescue() {
        Candidate top = candidates.stream().max(Comparator.comparingDouble(Candidate::clamp)).orElseThrow();
        Object topHp = hparams.get(top.number() - 1);
        for (Tunable.Variant v : tunable.effortVariants(topHp)) {
            if (evaluate(v.hparams(), "effort", v.change()) == null) {
                return;
            }
        }
        Candidate mostEs = candidates.stream().filter(this::reachesEditSucc).findFirst().orElse(null);
        if (mostEs != null) {
            for (Tunable.Variant v : tunable.localityVariants(hparams.get(mostEs.number() - 1))) {
                evaluate(v.hparams(), "locality", v.change());
            }
        }
    }

    private boolean reachesEditSucc(Candidate c) {
        return c.editSucc() != null && c.editSucc() >= opts.targetEditSucc();
    }

    private Object largestFailingBelow(double clamp) {
        Object best = null;
        for (Candidate c : candidates) {
            if (!c.passed() && c.clamp() < clamp && (best == null || c.clamp() > tunable.clamp(best))) {
                best = hparams.get(c.number() - 1);
            }
        }
        return best;
    }

    /**
     * Evaluates one setting on the sample (or returns the earlier candidate with the same values). Returns null when
     * the budget does not allow it; then the search ends.
     */
    private Candidate evaluate(Object hp, String stage, String change) {
        Map<String, Object> values = HyperParams.asMap(hp);
        for (int i = 0; i < tried.size(); i++) {
            if (tried.get(i).equals(values)) {
                return candidates.get(i);
            }
        }
        if (stopReason != null) {
            return null;
        }
        int edits = sample.stream().mapToInt(d -> d.cases().size()).sum();
        Double eta = candidates.isEmpty() ? null
                : candidates.stream().mapToDouble(c -> c.minutes() / c.edits()).average().orElse(0) * edits;
        if (eta != null && minutes() + eta > opts.budgetMinutes()) {
            stopReason = String.format(java.util.Locale.ROOT, "the next candidate (%s: %s) would have ended at %.1f"
                    + " minutes, past the %s-minute budget", stage, change, minutes() + eta, fmt(opts.budgetMinutes()));
            return null;
        }
        int number = candidates.size() + 1;
        listener.candidateStarted(number, stage + " (" + change + "): " + pretty(tunable.describe(hp)), edits, minutes(),
                eta);
        Path dir = out.resolve("candidates").resolve(String.format("%02d", number));
        long t0 = System.nanoTime();
        List<Measurement> posts = new ArrayList<>();
        String error = null;
        try {
            Files.createDirectories(dir);
            Path yaml = dir.resolve("hparams.yaml");
            Files.writeString(yaml, HyperParams.toYaml(hp, "icedit tune candidate " + number + " (" + stage + ": "
                    + change + ")", null));
            int[] done = {0};
            for (Dataset d : sample) {
                EvalOptions eo = new EvalOptions(tunable.method(), yaml.toString(), EvalOptions.Mode.SINGLE,
                        EvalOptions.Schedule.IMMEDIATE, null, 0, null, 1, 1, 1);
                String stem = d.file().getFileName().toString().replaceFirst("\\.[^.]*$", "");
                Evaluation.Outcome o = Evaluation.run(model, d, eo, dir.resolve(stem), new EvalListener() {
                    @Override
                    public void advanced(int n) {
                        listener.editDone(++done[0], edits);
                    }

                    @Override
                    public void info(String line) {
                        listener.info(line);
                    }
                });
                for (CaseRecord r : o.result().cases()) {
                    posts.add(r.post());
                    if (r.editError() != null && error == null) {
                        error = "record " + r.index() + ": " + r.editError();
                    }
                }
            }
        } catch (IceditException e) {
            error = e.getMessage();
        } catch (IOException e) {
            error = dir + ": " + e.getMessage();
        }
        Aggregate a = Aggregate.of(posts);
        Double es = posts.isEmpty() ? null : a.editSucc();
        Double loc = posts.isEmpty() ? null : a.locality();
        boolean passed = es != null && es >= opts.targetEditSucc() && (loc == null || loc >= opts.minLocality());
        Candidate c = new Candidate(number, stage, change, tunable.describe(hp), tunable.clamp(hp), es, loc,
                posts.size(), (System.nanoTime() - t0) / 6e10, error, passed, dir);
        candidates.add(c);
        tried.add(values);
        hparams.add(hp);
        listener.candidateFinished(c, minutes());
        return c;
    }

    private double minutes() {
        return (System.nanoTime() - started) / 6e10;
    }

    /** A number with at most two significant digits after rounding: 0.0014, 95, 20000. */
    static String fmt(double v) {
        java.math.BigDecimal d = new java.math.BigDecimal(v).round(new java.math.MathContext(v >= 1 ? 6 : 2))
                .stripTrailingZeros();
        return v >= 1 ? d.toPlainString() : d.toString().toLowerCase(java.util.Locale.ROOT);
    }

    /** The values of a candidate for a progress line: numbers short. */
    static String pretty(Map<String, Object> settings) {
        List<String> parts = new ArrayList<>();
        settings.forEach((k, v) -> parts.add(k + " " + (v instanceof Double d ? fmt(d) : v)));
        return String.join(", ", parts);
    }
}
