package dev.icedit.eval.run;

import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.Presets;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.TunedOn;
import dev.icedit.eval.metrics.Aggregate;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

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
    /** run.json's key for the values a method took from the model for hyper-parameters left unset. */
    static final String MODEL_DEFAULTS = "model_defaults";
    static final String JOBS = "jobs";
    static final String THREADS = "intra_op_threads";
    private final LanguageModel model;
    private final Dataset data;
    private final EvalOptions opts;
    private final RunDirectory dir;
    private final EvalListener listener;
    private String dataSha256;

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
        if (opts.jobs() > 1 && !model.modifiedWeights().isEmpty()) {
            throw new IceditException("--jobs " + opts.jobs() + " evaluates on copies of the model loaded from "
                    + model.directory() + ", which would lack the " + model.modifiedWeights().size() + " weights edited"
                    + " in the model given: save it and evaluate the saved copy, or use one job");
        }
        MethodPlan plan = MethodPlan.resolve(opts.method(), opts.hparams(), opts.seed(), model.config());
        if (plan.preset() != null && plan.preset().source() == Presets.Source.DERIVED) {
            listener.info(plan.name() + " preset: " + plan.preset().summary());
        }
        dataSha256 = data.sha256();
        // a preset written by icedit tune names the cases it was tuned on: they are not evaluated
        List<Integer> tunedOn = TunedOn.casesIn(opts.hparams(), dataSha256);
        Dataset usable = tunedOn.isEmpty() ? data : data.without(tunedOn);
        if (!tunedOn.isEmpty()) {
            listener.info("leaving out the " + (data.cases().size() - usable.cases().size()) + " cases of "
                    + data.file().getFileName() + " that " + opts.hparams() + " was tuned on");
        }
        List<EvalCase> cases = usable.select(opts.offset(), opts.limit());
        if (cases.isEmpty()) {
            throw IceditException.inFile(data.file(), "no cases to evaluate: " + usable.cases().size()
                    + " usable cases and --offset " + opts.offset());
        }
        long seed = effectiveSeed(plan);
        Map<String, Object> settings = settings(plan, seed, cases.size());
        if (!tunedOn.isEmpty()) {
            settings.put("excluded_tuning_cases", tunedOn);
        }
        // the data and model are identified by their hashes, so their paths may change; the limit may grow
        // so may the workers and threads of the latest invocation, which run.json records (a case's record does not
        // depend on the number of workers, and on the thread count only in the last bits)
        Set<String> mayDiffer = opts.mode() == EvalOptions.Mode.CONTINUAL && opts.schedule() == EvalOptions.Schedule.FINAL
                ? Set.of("data", "model", JOBS, THREADS) : Set.of("data", "model", "limit", "cases", JOBS, THREADS);
        dir.claim(settings, mayDiffer, Set.of(MODEL_DEFAULTS));

        Weights base = model.currentWeights(); // the unedited model, kept while edits are installed
        CaseMeasurer measurer = new CaseMeasurer(model, base, opts.fluencyTokens(), seed, opts.protocol());
        BeforeCache cache = opts.beforeCache() == null ? null
                : BeforeCache.open(opts.beforeCache(), model, opts.protocol(), opts.fluencyTokens(), seed);
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
            runSingle(plan, measurer, cases, done, cache, seed);
            for (EvalCase c : cases) {
                editSeconds.add(done.get(c.index()).editSeconds());
            }
        } else {
            new ContinualRun(model, data, opts, dir, listener, plan, measurer, base, cases, done, curve, editSeconds,
                    cache).run();
        }
        if (cache != null && cache.hits() > 0) {
            listener.info("pre-edit observations of " + cache.hits() + " cases read from " + cache.directory());
        }
        List<CaseRecord> records = cases.stream().map(c -> done.get(c.index())).toList();
        return new Result(dir, plan.name(), plan.hyperParameters(), seed, records, curve, editSeconds, resumed, settings);
    }

    /**
     * Single mode: the cases still to do, each measured, edited, measured again and reverted, by {@code opts.jobs()}
     * workers at a time (each with its own model: the given one, and copies loaded from its directory with its
     * options), sharing one queue of cases and one {@link Befores}. Records are appended in position order: one that
     * finishes before an earlier case waits in memory until that one is written.
     */
    private void runSingle(MethodPlan plan, CaseMeasurer measurer, List<EvalCase> cases, Map<Integer, CaseRecord> done,
            BeforeCache cache, long seed) {
        List<Integer> todo = new ArrayList<>();
        for (int position = 0; position < cases.size(); position++) {
            if (!done.containsKey(cases.get(position).index())) {
                todo.add(position);
            }
        }
        Set<Integer> todoIndices = new HashSet<>(); // a snapshot: the records written during the run do not change it
        todo.forEach(p -> todoIndices.add(cases.get(p).index()));
        int workers = Math.max(1, Math.min(opts.jobs(), todo.size()));
        EvalListener events = workers == 1 ? listener : serialized(listener);
        Befores befores = new Befores(cases, c -> todoIndices.contains(c.index()), Befores.DEFAULT_BATCH, cache);
        Queue queue = new Queue(cases, todo, done, events);
        EditAttempts.Tally tally = new EditAttempts.Tally();
        if (workers > 1) {
            int threads = Backend.intraOpThreads();
            int share = Math.max(1, Backend.configuredThreads() / workers);
            events.info(workers + " workers, each with its own copy of the model and " + threads + " intra-op thread"
                    + (threads == 1 ? "" : "s") + (threads > share ? " (the engine started before they were divided"
                    + " among the workers: Backend.threadsForWorkers before loading the model gives each " + share + ")"
                    : ""));
        }
        events.started("cases", cases.size(), cases.size() - todo.size());
        try {
            if (workers == 1) {
                work(model, plan, measurer, new EditAttempts(model, plan, events, tally), befores, queue);
            } else {
                runWorkers(workers, plan, measurer, seed, befores, queue, tally, events);
            }
        } finally {
            events.finished();
        }
    }

    /** One worker's loop: the next case from the queue until none is left (or another worker failed). */
    private void work(LanguageModel m, MethodPlan plan, CaseMeasurer measurer, EditAttempts attempts, Befores befores,
            Queue queue) {
        EditJournal journal = new EditJournal(m);
        for (int slot = queue.next(); slot >= 0; slot = queue.next()) {
            int position = queue.position(slot);
            EvalCase c = queue.cases.get(position);
            try {
                CaseMeasurer.Observation pre = befores.take(measurer, c);
                long start = System.nanoTime(); // the case's time: its share of the pre-edit batch, then its own
                CaseMeasurer.Observation post;
                EditAttempts.Attempt attempt = attempts.attempt(c);
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
                        attempt.error(), befores.seconds(c) + (System.nanoTime() - start) / 1e9,
                        Instant.now().toString(), pre.boundaryMerges(), pre.targetTokens());
                queue.finished(slot, r);
            } finally {
                if (slot == 0) {
                    queue.firstCase.countDown();
                }
            }
        }
    }

    /**
     * Runs {@code workers} workers: the first on this thread with the given model, the others on threads of their
     * own, each loading its copy of the model (while the first case runs) and starting once the first case is done,
     * so that what a method computes once and keeps on disk (the covariance statistics of ROME and MEMIT) is computed
     * once. The first failure stops the queue; the workers finish the case they are on, and it is rethrown.
     */
    private void runWorkers(int workers, MethodPlan plan, CaseMeasurer measurer, long seed, Befores befores,
            Queue queue, EditAttempts.Tally tally, EvalListener events) {
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers - 1, r -> {
            Thread t = new Thread(r, "icedit-eval-worker");
            t.setDaemon(true);
            return t;
        });
        List<Future<?>> others = new ArrayList<>();
        try {
            for (int k = 1; k < workers; k++) {
                others.add(pool.submit(() -> {
                    try {
                        Backend.prepareThread();
                        try (LanguageModel copy = LanguageModel.load(model.directory(), model.options())) {
                            queue.awaitFirstCase();
                            MethodPlan own = MethodPlan.resolve(opts.method(), opts.hparams(), opts.seed(),
                                    copy.config());
                            CaseMeasurer m = new CaseMeasurer(copy, copy.currentWeights(), opts.fluencyTokens(), seed,
                                    opts.protocol());
                            work(copy, own, m, new EditAttempts(copy, own, events, tally), befores, queue);
                        }
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                        queue.stop();
                    } catch (Error e) {
                        queue.stop();
                        throw e;
                    }
                }));
            }
            try {
                work(model, plan, measurer, new EditAttempts(model, plan, events, tally), befores, queue);
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
                queue.stop();
            } finally {
                queue.firstCase.countDown(); // also when this worker failed before it took the first case
            }
            for (Future<?> f : others) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    queue.stop();
                    Thread.currentThread().interrupt();
                    throw new IceditException("interrupted while the workers finish their cases");
                } catch (ExecutionException e) {
                    failure.compareAndSet(null, new IceditException(String.valueOf(e.getCause()), e.getCause()));
                }
            }
        } finally {
            pool.shutdown();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    /**
     * The cases still to do, handed out in position order, and their records, appended to cases.jsonl in that order
     * (a record that finishes early waits for the earlier ones).
     */
    private final class Queue {
        final List<EvalCase> cases;
        private final List<Integer> todo;
        private final Map<Integer, CaseRecord> done;
        private final EvalListener events;
        private final AtomicInteger next = new AtomicInteger();
        private final TreeMap<Integer, CaseRecord> waiting = new TreeMap<>();
        /** Counted down when the first case to do is finished (or failed). */
        final CountDownLatch firstCase = new CountDownLatch(1);
        private volatile boolean stopped;
        private int written;
        private int finished;

        Queue(List<EvalCase> cases, List<Integer> todo, Map<Integer, CaseRecord> done, EvalListener events) {
            this.cases = cases;
            this.todo = todo;
            this.done = done;
            this.events = events;
            this.finished = cases.size() - todo.size();
        }

        /** The next slot (an index into the cases to do), or -1 when none is left or the run stops. */
        int next() {
            if (stopped) {
                return -1;
            }
            int slot = next.getAndIncrement();
            return slot < todo.size() ? slot : -1;
        }

        int position(int slot) {
            return todo.get(slot);
        }

        void stop() {
            stopped = true;
            firstCase.countDown();
        }

        void awaitFirstCase() {
            try {
                firstCase.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IceditException("interrupted before the first case finished");
            }
        }

        synchronized void finished(int slot, CaseRecord r) {
            waiting.put(slot, r);
            while (!waiting.isEmpty() && waiting.firstKey() == written) {
                CaseRecord w = waiting.pollFirstEntry().getValue();
                dir.append(dir.cases(), w);
                done.put(w.index(), w);
                written++;
            }
            events.advanced(++finished);
        }
    }

    /** The listener with its calls made one at a time, for workers on several threads. */
    private static EvalListener serialized(EvalListener l) {
        return new EvalListener() {
            @Override
            public synchronized void started(String phase, int total, int done) {
                l.started(phase, total, done);
            }

            @Override
            public synchronized void advanced(int done) {
                l.advanced(done);
            }

            @Override
            public synchronized void finished() {
                l.finished();
            }

            @Override
            public synchronized void info(String line) {
                l.info(line);
            }
        };
    }

    /** SHA-256 over every case's index and context sentences, or null when no case has any. */
    private static String contextsSha256(List<EvalCase> cases) {
        if (cases.stream().allMatch(c -> c.context().isEmpty())) {
            return null;
        }
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (EvalCase c : cases) {
                for (String sentence : c.context()) {
                    md.update((c.index() + "\u0000" + sentence + "\u0000").getBytes(StandardCharsets.UTF_8));
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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
        Map<String, Object> modelDefaults = plan.editor() == null ? Map.of() : plan.editor().modelDefaults(model);
        if (!modelDefaults.isEmpty()) {
            s.put(MODEL_DEFAULTS, modelDefaults); // ICE's top_k/top_p from generation_config.json
        }
        String contexts = contextsSha256(data.cases());
        s.put("in_context_prefix", plan.name().equals(MethodPlan.IN_CONTEXT)
                ? MethodPlan.inContextTemplate(contexts != null) : null);
        s.put("data", data.file().toAbsolutePath().normalize().toString());
        s.put("data_sha256", dataSha256);
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
        s.put(JOBS, opts.jobs());
        s.put(THREADS, Backend.intraOpThreads()); // each worker's: the engine has started with the model
        s.put("probes", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.probes() : null);
        s.put("probe_every", opts.mode() == EvalOptions.Mode.CONTINUAL ? opts.probeEvery() : null);
        if (opts.protocol() != Protocol.TEACHER_FORCED) {
            s.put("protocol", opts.protocol().label()); // absent for teacher-forced, as in runs from before the option
        }
        if (model.tokenizer().chatTemplate()) {
            s.put("chat_template", true); // absent when off, so that runs from before the option still resume
        }
        if (contexts != null) {
            s.put("contexts_sha256", contexts); // absent without context sentences, as before they were read
        }
        return s;
    }

}
