package dev.icedit.eval.run;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A continual run: the edits accumulate in dataset order and are never reverted; its state is the number of cases
 * edited so far, the weights their edits changed, saved after every edit as one cumulative patch (see
 * {@link EvalRunner}), and the keys the edits wrote for methods that remember them ({@link EditedKeys}), saved as one
 * small file per edit under patches/keys/. Memory stays flat in the number of edits: the run holds the unedited
 * weights (the snapshot {@code base}, which aliases the loaded model) and the current ones, never one copy per
 * edit; the edited keys are sums of fixed size.
 */
final class ContinualRun {
    private final LanguageModel model;
    private final Dataset data;
    private final EvalOptions opts;
    private final RunDirectory dir;
    private final EvalListener listener;
    private final EditAttempts attempts;
    private final MethodPlan plan;
    private final CaseMeasurer measurer;
    private final Weights base;
    private final List<EvalCase> cases;
    private final Map<Integer, CaseRecord> done;
    private final List<CurvePoint> curve;
    private final List<Double> editSeconds;
    private final List<EvalCase> probes;
    private final Map<Integer, CaseMeasurer.Observation> probeBase = new HashMap<>();
    private final Befores befores;
    private final Set<String> changed = new LinkedHashSet<>();
    private final List<EditLogEntry> log = new ArrayList<>();
    private final boolean stateful;
    private final EditedKeys keys = new EditedKeys();
    private final long startNanos = System.nanoTime();
    private int editsAtStart;
    private double probeSecondsPerCase;
    private int applied;

    ContinualRun(LanguageModel model, Dataset data, EvalOptions opts, RunDirectory dir, EvalListener listener,
            MethodPlan plan, CaseMeasurer measurer, Weights base, List<EvalCase> cases, Map<Integer, CaseRecord> done,
            List<CurvePoint> curve, List<Double> editSeconds, BeforeCache cache) {
        this.model = model;
        this.data = data;
        this.opts = opts;
        this.dir = dir;
        this.listener = listener;
        this.attempts = new EditAttempts(model, plan, listener);
        this.plan = plan;
        this.measurer = measurer;
        this.base = base;
        this.cases = cases;
        this.done = done;
        this.curve = curve;
        this.editSeconds = editSeconds;
        this.probes = data.select(opts.offset(), opts.probes());
        this.stateful = plan.editor() != null;
        this.befores = new Befores(cases, c -> !done.containsKey(c.index()), Befores.DEFAULT_BATCH, cache);
    }

    void run() {
        try {
            restoreState();
            editsAtStart = applied;
            Map<Integer, CurvePoint> points = new LinkedHashMap<>();
            dir.readLines(dir.curve(), CurvePoint.class).forEach(p -> points.put(p.edits(), p));
            if (!points.containsKey(0) && applied == 0) {
                probePoint(0, points);
            }
            boolean immediate = opts.schedule() == EvalOptions.Schedule.IMMEDIATE;
            int finished = immediate ? (int) cases.stream().filter(c -> done.containsKey(c.index())).count()
                    : Math.min(applied, cases.size());
            listener.started(immediate ? "cases" : "edits", cases.size(), finished);
            try {
                for (int j = 0; j < cases.size(); j++) {
                    EvalCase c = cases.get(j);
                    boolean progressed = false;
                    if (j >= applied) {
                        edit(j, c);
                        progressed = !immediate;
                    }
                    if (immediate && !done.containsKey(c.index())) {
                        if (applied != j + 1) {
                            throw IceditException.inFile(dir.path(), "case " + c.index() + " is not in cases.jsonl"
                                    + " but " + applied + " edits were saved after it; the run cannot be resumed");
                        }
                        measure(j, c);
                        progressed = true;
                    }
                    int count = j + 1;
                    if ((count % opts.probeEvery() == 0 || count == cases.size()) && !points.containsKey(count)
                            && (!stateful || applied == count)) {
                        probePoint(count, points);
                    }
                    if (progressed) {
                        listener.advanced(++finished);
                    }
                }
            } finally {
                listener.finished();
            }
            if (!immediate) {
                int measured = (int) cases.stream().filter(c -> done.containsKey(c.index())).count();
                listener.started("cases", cases.size(), measured);
                try {
                    for (int j = 0; j < cases.size(); j++) {
                        if (!done.containsKey(cases.get(j).index())) {
                            measure(j, cases.get(j));
                            listener.advanced(++measured);
                        }
                    }
                } finally {
                    listener.finished();
                }
            }
            curve.addAll(points.values().stream().sorted(Comparator.comparingInt(CurvePoint::edits)).toList());
            for (int j = 0; j < cases.size(); j++) {
                editSeconds.add(stateful ? log.get(j).seconds() : 0.0);
            }
        } finally {
            keys.close();
            restoreBase();
        }
    }

    /**
     * Applies the saved state of an earlier run. edits.jsonl is written before the state patch, so it may list
     * one edit more than the patch holds: that one is dropped and done again.
     */
    private void restoreState() {
        if (!stateful) {
            applied = 0;
            return;
        }
        List<EditLogEntry> saved = dir.readLines(dir.edits(), EditLogEntry.class);
        List<EditRequest> requests = Files.exists(dir.statePatch())
                ? EditPatch.metadata(dir.statePatch()).requests() : List.of();
        int keep = 0;
        int installed = 0;
        while (keep < saved.size()) {
            if (saved.get(keep).applied()) {
                if (installed == requests.size()) {
                    break;
                }
                installed++;
            }
            keep++;
        }
        if (installed < requests.size()) {
            throw IceditException.inFile(dir.edits(), "lists " + installed + " applied edits but the saved state"
                    + " holds " + requests.size() + "; the run cannot be resumed");
        }
        if (keep > cases.size()) {
            throw IceditException.inFile(dir.path(), "holds a continual run that went through " + keep
                    + " cases; ask for at least that many (--limit)");
        }
        int r = 0;
        for (int j = 0; j < keep; j++) {
            EditLogEntry e = saved.get(j);
            if (e.position() != j || e.index() != cases.get(j).index()) {
                throw IceditException.inFile(dir.edits(), "line " + (j + 1) + " is for record " + e.index()
                        + " but this run's case " + j + " is record " + cases.get(j).index()
                        + "; the run cannot be resumed");
            }
            if (e.applied() && !requests.get(r++).equals(cases.get(j).request())) {
                throw IceditException.inFile(dir.statePatch(), "edit " + r + " is not this run's case " + j
                        + " ('" + cases.get(j).prompt() + "'); the run cannot be resumed");
            }
        }
        if (!requests.isEmpty()) {
            AppliedEdit state = EditPatch.apply(dir.statePatch(), new EditJournal(model));
            changed.addAll(state.weightNames());
            listener.info("re-applied " + requests.size() + " saved edits from " + dir.statePatch());
        }
        int withKeys = 0;
        for (int j = 0; j < keep; j++) {
            Path file = dir.editedKeys(j);
            if (saved.get(j).applied() && Files.exists(file)) {
                Map<String, NDArray> k = EditedKeys.read(file, model.manager());
                try {
                    keys.add(k);
                } finally {
                    k.values().forEach(NDArray::close);
                }
                withKeys++;
            }
        }
        if (withKeys > 0) {
            listener.info("re-read the keys of " + withKeys + " saved edits from " + dir.editedKeys(0).getParent());
        }
        for (int j = keep; j < saved.size(); j++) {
            deleteQuietly(dir.editedKeys(j)); // written for an edit whose state was not saved
        }
        if (keep < saved.size()) {
            dir.rewrite(dir.edits(), saved.subList(0, keep)); // logged, but the state was not saved
        }
        log.addAll(saved.subList(0, keep));
        applied = keep;
    }

    /** Computes the case's edit on the current weights and installs it for good. */
    private void edit(int position, EvalCase c) {
        if (!stateful) {
            applied = position + 1;
            return;
        }
        EditAttempts.Attempt attempt = attempts.attempt(c, keys);
        if (attempt.result() == null) {
            EditLogEntry entry = new EditLogEntry(position, c.index(), attempt.seconds(), List.of(), attempt.error());
            dir.append(dir.edits(), entry);
            log.add(entry);
            applied = position + 1;
            return;
        }
        try (EditResult result = attempt.result()) {
            AppliedEdit a = new EditJournal(model).apply(result);
            // continual runs never revert: free what this edit replaced unless it is an unedited original
            for (Map.Entry<String, NDArray> e : a.originals().entrySet()) {
                if (e.getValue() != base.get(e.getKey())) {
                    e.getValue().close();
                }
            }
            changed.addAll(a.weightNames());
            applied = position + 1;
            EditLogEntry entry = new EditLogEntry(position, c.index(), result.seconds(), result.lossPerStep(), null);
            dir.append(dir.edits(), entry);
            log.add(entry);
            if (!result.editedKeys().isEmpty()) { // before the state: a resume reads it only for saved edits
                EditedKeys.write(dir.editedKeys(position), result.editedKeys());
                keys.add(result.editedKeys());
            }
            saveState();
        }
    }

    /** How many edits are installed now. */
    private int installed() {
        return (int) log.stream().filter(EditLogEntry::applied).count();
    }

    /** Rewrites the state patch: the unedited and the current value of every weight changed so far. */
    private void saveState() {
        List<String> names = new ArrayList<>(changed);
        Weights now = model.currentWeights();
        Map<String, NDArray> originals = new LinkedHashMap<>();
        Map<String, NDArray> installed = new LinkedHashMap<>();
        for (String n : names) {
            originals.put(n, base.get(n));
            installed.put(n, now.get(n));
        }
        List<EditRequest> requests = log.stream().filter(EditLogEntry::applied)
                .map(e -> cases.get(e.position()).request()).toList();
        double seconds = log.stream().mapToDouble(EditLogEntry::seconds).sum();
        AppliedEdit state = new AppliedEdit("continual", plan.name(), plan.hyperParameters(), requests, names,
                LanguageModel.fingerprint(base, names), List.of(), seconds, Instant.now(), originals, installed);
        try {
            EditPatch.write(dir.statePatch(), state, model, EditPatch.Values.COMPUTED, false); // exact, to resume
        } catch (IOException e) {
            throw IceditException.inFile(dir.statePatch(), "cannot write: " + e.getMessage());
        }
    }

    private void measure(int position, EvalCase c) {
        CaseMeasurer.Observation pre = befores.take(measurer, c);
        long start = System.nanoTime(); // the case's time: its share of the pre-edit batch, then its own
        CaseMeasurer.Observation post = measurer.after(c, plan.contextPrefix(c), pre);
        EditLogEntry edit = stateful ? log.get(position) : null;
        double seconds = edit == null ? 0.0 : edit.seconds();
        CaseRecord r = new CaseRecord(position, c.index(), c.request(), c.rephrasePrompt(), installed(),
                pre.measurement(), post.measurement(), seconds, edit == null ? null : edit.error(),
                befores.seconds(c) + (System.nanoTime() - start) / 1e9 + seconds, Instant.now().toString(), pre.boundaryMerges(),
                pre.targetTokens());
        dir.append(dir.cases(), r);
        done.put(c.index(), r);
    }

    private void probePoint(int edits, Map<Integer, CurvePoint> points) {
        long start = System.nanoTime();
        List<Measurement> ms = new ArrayList<>();
        List<EvalCase> missing = probes.stream().filter(p -> !probeBase.containsKey(p.index())).toList();
        if (!missing.isEmpty()) { // the probes' pre-edit observations, in batches, once per run
            for (int i = 0; i < missing.size(); i += Befores.DEFAULT_BATCH) {
                List<EvalCase> group = missing.subList(i, Math.min(missing.size(), i + Befores.DEFAULT_BATCH));
                List<CaseMeasurer.Observation> measured = measurer.beforeAll(group);
                for (int j = 0; j < group.size(); j++) {
                    probeBase.put(group.get(j).index(), measured.get(j));
                }
            }
        }
        for (EvalCase p : probes) {
            CaseMeasurer.Observation before = probeBase.get(p.index());
            ms.add(measurer.after(p, plan.contextPrefix(p), before).measurement());
        }
        probeSecondsPerCase = (System.nanoTime() - start) / 1e9 / Math.max(1, probes.size());
        Double rss = residentMib();
        double editSeconds = log.stream().limit(edits).mapToDouble(EditLogEntry::seconds).sum();
        CurvePoint point = new CurvePoint(edits, Aggregate.of(ms), rss, editSeconds);
        dir.append(dir.curve(), point);
        points.put(edits, point);
        if (edits > 0) {
            listener.info(progressLine(edits, rss));
        }
    }

    /**
     * "edits 300/1000, 2.41 s each, about 29 min left (1.2 h with the final measurement); resident memory 612 MiB":
     * the rate is this process's wall time per edit (probes included), so it holds for what is left.
     */
    private String progressLine(int edits, Double rss) {
        int total = cases.size();
        int doneHere = edits - editsAtStart;
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "edits %d/%d", edits, total));
        if (doneHere > 0) {
            double perEdit = elapsed / doneHere;
            double left = perEdit * (total - edits);
            line.append(String.format(Locale.ROOT, ", %.2f s each, about %s left", perEdit, duration(left)));
            if (opts.schedule() == EvalOptions.Schedule.FINAL) { // each case then measured before and after
                line.append(" (").append(duration(left + 2 * probeSecondsPerCase * total))
                        .append(" with the final measurement)");
            }
        }
        if (rss != null) {
            line.append(String.format(Locale.ROOT, "; resident memory %.0f MiB", rss));
        }
        return line.toString();
    }

    private static String duration(double seconds) {
        if (seconds < 90) {
            return Math.round(seconds) + " s";
        }
        if (seconds < 90 * 60) {
            return Math.round(seconds / 60) + " min";
        }
        return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
    }

    /** This process's resident memory in MiB (VmRSS of /proc/self/status), or null where there is none. */
    static Double residentMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a stale file is overwritten when its edit is done again
        }
    }

    /** Leaves the model as it was given: the unedited weights back, the edited ones freed. */
    private void restoreBase() {
        if (changed.isEmpty()) {
            return;
        }
        Map<String, NDArray> originals = new LinkedHashMap<>();
        changed.forEach(n -> originals.put(n, base.get(n)));
        for (Map.Entry<String, NDArray> e : model.install(originals).entrySet()) {
            if (e.getValue() != base.get(e.getKey())) {
                e.getValue().close();
            }
        }
    }
}
