package dev.icedit.eval.run;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Measurement;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an evaluation and keeps its files up to date as it goes (see {@link RunDirectory}).
 *
 * <p>Single mode: each case is measured on the unedited model, edited, measured again, and the edit reverted through
 * the journal (bit for bit). Continual mode: the edits accumulate in dataset order; with the immediate schedule each
 * case is measured right after its own edit, with the final schedule every case is measured after the last edit. A
 * fixed probe set (the first {@code probes} cases from the offset) is measured every {@code probeEvery} edits.
 *
 * <p>Resuming: finished cases are read back from cases.jsonl and not redone. A continual run also keeps its
 * accumulated edits as one patch (patches/continual-state.safetensors: each changed weight before the first edit
 * and now), rewritten after every edit, and edits.jsonl; a resumed run applies the patch and goes on from the next
 * edit. Settings that would make the old and new parts disagree (method, hyper-parameters, data, model, mode, ...)
 * must be unchanged; the limit may grow.
 */
public final class EvalRunner {
    private final LanguageModel model;
    private final Dataset data;
    private final EvalOptions opts;
    private final RunDirectory dir;
    private final EvalListener listener;
    private static final int FAILURES_BEFORE_STOP = 3;
    private int succeeded;
    private int failed;

    /** What the run produced: every finished case of the selection, in order, and the continual curve. */
    public record Result(RunDirectory dir, String method, Map<String, Object> hyperParameters, Long seed,
            List<CaseRecord> cases, List<CurvePoint> curve, List<Double> editSeconds, int resumed,
            Map<String, Object> settings) {

        public Aggregate before() {
            return Aggregate.of(cases.stream().map(CaseRecord::pre).toList());
        }

        public Aggregate after() {
            return Aggregate.of(cases.stream().map(CaseRecord::post).toList());
        }
    }

    public EvalRunner(LanguageModel model, Dataset data, EvalOptions opts, RunDirectory dir, EvalListener listener) {
        this.model = model;
        this.data = data;
        this.opts = opts;
        this.dir = dir;
        this.listener = listener == null ? EvalListener.NONE : listener;
    }

    public Result run() {
        MethodPlan plan = MethodPlan.resolve(opts.method(), opts.hparams(), opts.seed(), model.config());
        List<EvalCase> cases = data.select(opts.offset(), opts.limit());
        if (cases.isEmpty()) {
            throw IceditException.inFile(data.file(), "no cases to evaluate: " + data.cases().size()
                    + " usable cases and --offset " + opts.offset());
        }
        long seed = effectiveSeed(plan);
        Map<String, Object> settings = settings(plan, seed, cases.size());
        // the data and model are identified by their hashes, so their paths may change; the limit may grow
        Set<String> mayDiffer = opts.mode() == EvalOptions.Mode.CONTINUAL && opts.schedule() == EvalOptions.Schedule.FINAL
                ? Set.of("data", "model") : Set.of("data", "model", "limit", "cases");
        dir.claim(settings, mayDiffer);

        Weights base = model.currentWeights(); // the unedited model, kept while edits are installed
        CaseMeasurer measurer = new CaseMeasurer(model, base, opts.fluencyTokens(), seed);
        Map<Integer, CaseRecord> done = new HashMap<>();
        for (CaseRecord r : dir.readLines(dir.cases(), CaseRecord.class)) {
            done.put(r.index(), r);
        }
        int resumed = (int) cases.stream().filter(c -> done.containsKey(c.index())).count();
        if (resumed > 0) {
            listener.info("resuming " + dir.path() + ": " + resumed + " of " + cases.size() + " cases already done");
        }
        List<CurvePoint> curve = new ArrayList<>();
        List<Double> editSeconds = new ArrayList<>();
        if (opts.mode() == EvalOptions.Mode.SINGLE) {
            runSingle(plan, measurer, cases, done);
            for (EvalCase c : cases) {
                editSeconds.add(done.get(c.index()).editSeconds());
            }
        } else {
            new Continual(plan, measurer, base, cases, done, curve, editSeconds).run();
        }
        List<CaseRecord> records = cases.stream().map(c -> done.get(c.index())).toList();
        return new Result(dir, plan.name(), plan.hyperParameters(), seed, records, curve, editSeconds, resumed, settings);
    }

    private void runSingle(MethodPlan plan, CaseMeasurer measurer, List<EvalCase> cases, Map<Integer, CaseRecord> done) {
        EditJournal journal = new EditJournal(model);
        int finished = (int) cases.stream().filter(c -> done.containsKey(c.index())).count();
        listener.started("cases", cases.size(), finished);
        try {
            for (int position = 0; position < cases.size(); position++) {
                EvalCase c = cases.get(position);
                if (done.containsKey(c.index())) {
                    continue;
                }
                long start = System.nanoTime();
                CaseMeasurer.Observation pre = measurer.before(c);
                CaseMeasurer.Observation post;
                Attempt attempt = plan.editor() == null ? Attempt.NONE : attempt(plan, c);
                if (attempt.result() == null) {
                    post = measurer.after(c, plan.contextPrefix(c), pre);
                } else {
                    try (EditResult result = attempt.result()) {
                        AppliedEdit applied = journal.apply(result);
                        try {
                            post = measurer.after(c, "", pre);
                        } finally {
                            journal.revert(applied.id(), false);
                        }
                    }
                }
                CaseRecord r = new CaseRecord(position, c.index(), c.request(), c.rephrasePrompt(),
                        attempt.result() == null ? 0 : 1, pre.measurement(), post.measurement(), attempt.seconds(),
                        attempt.error(), (System.nanoTime() - start) / 1e9, Instant.now().toString());
                dir.append(dir.cases(), r);
                done.put(c.index(), r);
                listener.advanced(++finished);
            }
        } finally {
            listener.finished();
        }
    }

    /** A continual run: its state is the number of edits installed and the weights they changed. */
    private final class Continual {
        private final MethodPlan plan;
        private final CaseMeasurer measurer;
        private final Weights base;
        private final List<EvalCase> cases;
        private final Map<Integer, CaseRecord> done;
        private final List<CurvePoint> curve;
        private final List<Double> editSeconds;
        private final List<EvalCase> probes;
        private final Map<Integer, CaseMeasurer.Observation> probeBase = new HashMap<>();
        private final Set<String> changed = new LinkedHashSet<>();
        private final List<EditLogEntry> log = new ArrayList<>();
        private final boolean stateful;
        private int applied;

        Continual(MethodPlan plan, CaseMeasurer measurer, Weights base, List<EvalCase> cases,
                Map<Integer, CaseRecord> done, List<CurvePoint> curve, List<Double> editSeconds) {
            this.plan = plan;
            this.measurer = measurer;
            this.base = base;
            this.cases = cases;
            this.done = done;
            this.curve = curve;
            this.editSeconds = editSeconds;
            this.probes = data.select(opts.offset(), opts.probes());
            this.stateful = plan.editor() != null;
        }

        void run() {
            try {
                restoreState();
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
                curve.addAll(points.values().stream().sorted(java.util.Comparator.comparingInt(CurvePoint::edits)).toList());
                for (int j = 0; j < cases.size(); j++) {
                    editSeconds.add(stateful ? log.get(j).seconds() : 0.0);
                }
            } finally {
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
            Attempt attempt = attempt(plan, c);
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
                EditPatch.write(dir.statePatch(), state, model);
            } catch (IOException e) {
                throw IceditException.inFile(dir.statePatch(), "cannot write: " + e.getMessage());
            }
        }

        private void measure(int position, EvalCase c) {
            long start = System.nanoTime();
            CaseMeasurer.Observation pre = measurer.before(c);
            CaseMeasurer.Observation post = measurer.after(c, plan.contextPrefix(c), pre);
            EditLogEntry edit = stateful ? log.get(position) : null;
            double seconds = edit == null ? 0.0 : edit.seconds();
            CaseRecord r = new CaseRecord(position, c.index(), c.request(), c.rephrasePrompt(), installed(),
                    pre.measurement(), post.measurement(), seconds, edit == null ? null : edit.error(),
                    (System.nanoTime() - start) / 1e9 + seconds, Instant.now().toString());
            dir.append(dir.cases(), r);
            done.put(c.index(), r);
        }

        private void probePoint(int edits, Map<Integer, CurvePoint> points) {
            List<Measurement> ms = new ArrayList<>();
            for (EvalCase p : probes) {
                CaseMeasurer.Observation before = probeBase.computeIfAbsent(p.index(), i -> measurer.before(p));
                ms.add(measurer.after(p, plan.contextPrefix(p), before).measurement());
            }
            CurvePoint point = new CurvePoint(edits, Aggregate.of(ms));
            dir.append(dir.curve(), point);
            points.put(edits, point);
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

    /** A method's try at one case: its result, or why it produced none. */
    private record Attempt(EditResult result, double seconds, String error) {
        static final Attempt NONE = new Attempt(null, 0, null);
    }

    /**
     * Runs the method on one case. A method that fails on a case (its loss became NaN, say) produces no edit for it;
     * the case is measured without one and the reason recorded. When the first edits of a run all fail, the
     * settings are at fault rather than the cases, and the run stops.
     */
    private Attempt attempt(MethodPlan plan, EvalCase c) {
        long start = System.nanoTime();
        try {
            EditResult r = plan.editor().edit(model, List.of(c.request()), EditProgress.NONE);
            succeeded++;
            return new Attempt(r, r.seconds(), null);
        } catch (IceditException e) {
            failed++;
            if (succeeded == 0 && failed >= FAILURES_BEFORE_STOP) {
                throw new IceditException("the first " + failed + " edits all failed, the last with: " + e.getMessage()
                        + "; stopping (check the method's hyper-parameters)");
            }
            listener.info("record " + c.index() + ": " + plan.name() + " produced no edit: " + e.getMessage());
            return new Attempt(null, (System.nanoTime() - start) / 1e9, e.getMessage());
        }
    }

    /** The seed in effect: --seed, else the method's own, else 0. */
    private long effectiveSeed(MethodPlan plan) {
        if (opts.seed() != null) {
            return opts.seed();
        }
        if (plan.hyperParameters() != null && plan.hyperParameters().get("seed") instanceof Number n) {
            return n.longValue();
        }
        return 0;
    }

    private Map<String, Object> settings(MethodPlan plan, long seed, int count) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("format", "icedit-eval/1");
        s.put("method", plan.name());
        s.put("hyper_parameters", plan.hyperParameters());
        s.put("in_context_prefix", plan.name().equals(MethodPlan.IN_CONTEXT) ? "Fact: {prompt} {target_new}. Now: " : null);
        s.put("data", data.file().toAbsolutePath().normalize().toString());
        s.put("data_sha256", sha256(data.file()));
        s.put("layout", data.layout().displayName());
        s.put("model", model.directory().toString());
        s.put("model_fingerprint", model.fingerprint());
        s.put("compute_dtype", model.computeType().toString());
        s.put("mode", opts.mode().label());
        s.put("schedule", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.schedule().label() : null);
        s.put("offset", opts.offset());
        s.put("limit", opts.limit());
        s.put("cases", count);
        s.put("seed", seed);
        s.put("fluency_tokens", opts.fluencyTokens());
        s.put("probes", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.probes() : null);
        s.put("probe_every", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.probeEvery() : null);
        return s;
    }

    private static String sha256(java.nio.file.Path file) {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
