package dev.icedit.server;

import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.edit.EditResult;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.SaveTarget;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything that changes the model's weights, or reads the tensors an edit keeps, runs here on one worker
 * thread, in the order it was asked for: edit jobs, reverts, patch exports and saves. So an edit is computed on
 * the weights its "before" numbers were read from, a revert never races an edit, and a save holds exactly the
 * edits submitted before it. Generations do not wait for this queue: they hold leases on the weights, and an
 * install waits only for the leases running at that moment.
 */
final class EditService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EditService.class);

    private final LanguageModel model;
    private final EditJournal journal;
    private final Limits limits;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "icedit-edit-worker");
        t.setDaemon(true);
        return t;
    });
    private final LinkedHashMap<String, EditJob> jobs = new LinkedHashMap<>();
    private final Map<String, String> jobOfEdit = new ConcurrentHashMap<>();
    private int jobCounter;

    EditService(LanguageModel model, Limits limits) {
        this.model = model;
        this.journal = new EditJournal(model);
        this.limits = limits;
    }

    EditJournal journal() {
        return journal;
    }

    int journalSize() {
        return journal.edits().size();
    }

    /** Queues an edit; refused when {@link Limits#maxQueuedJobs} are already waiting. */
    EditJob submit(EditPlan plan) {
        EditJob job;
        synchronized (jobs) {
            long queued = jobs.values().stream().filter(j -> j.status() == EditJob.Status.QUEUED).count();
            if (queued >= limits.maxQueuedJobs()) {
                throw ApiError.unavailable("the edit queue is full (" + queued + " jobs waiting); try again later");
            }
            job = new EditJob("j" + (++jobCounter), plan);
            jobs.put(job.id, job);
            forgetOldJobs();
        }
        worker.execute(() -> run(job));
        return job;
    }

    private void forgetOldJobs() {
        int finished = (int) jobs.values().stream().filter(j -> j.status().terminal()).count();
        Iterator<EditJob> it = jobs.values().iterator();
        while (finished > limits.keptJobs() && it.hasNext()) {
            if (it.next().status().terminal()) {
                it.remove();
                finished--;
            }
        }
    }

    EditJob job(String id) {
        synchronized (jobs) {
            EditJob j = jobs.get(id);
            if (j == null) {
                throw ApiError.notFound("no job with id '" + WorkDir.printable(id) + "'");
            }
            return j;
        }
    }

    List<Map<String, Object>> jobs() {
        List<EditJob> copy;
        synchronized (jobs) {
            copy = new ArrayList<>(jobs.values());
        }
        return copy.stream().map(EditJob::snapshot).toList();
    }

    private void run(EditJob job) {
        if (!job.start()) {
            return;
        }
        EditPlan plan = job.plan;
        try {
            List<Probes.Probe> probes = Probes.of(plan);
            job.phase("reading the model before the edit");
            List<Probes.Reading> before = Probes.read(model, probes);
            job.phase("editing with " + plan.method());
            AppliedEdit applied;
            try (EditResult result = plan.editor().edit(model, plan.requests(), job.progress())) {
                job.phase("installing the new weights");
                applied = journal.apply(result);
            }
            jobOfEdit.put(applied.id(), job.id);
            job.phase("reading the model after the edit");
            List<Probes.Reading> after = Probes.read(model, probes);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("edit_id", applied.id());
            r.put("seconds", applied.seconds());
            r.put("weights", applied.weightNames());
            r.put("comparisons", Probes.compare(probes, before, after));
            if (!plan.unrelatedLeftOut().isEmpty()) {
                r.put("unrelated_left_out", plan.unrelatedLeftOut()); // about the edit itself, so not unrelated
            }
            job.succeed(r);
        } catch (IceditException | ApiError e) {
            job.fail(e.getMessage());
        } catch (Throwable e) {
            LOG.error("edit job {} failed", job.id, e);
            job.fail("internal error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? ""
                    : ": " + Json.oneLine(e.getMessage())));
        }
    }

    /** Cancels a queued or running job; a finished one cannot be. */
    EditJob cancel(String id) {
        EditJob job = job(id);
        if (job.status().terminal()) {
            throw ApiError.conflict("job " + id + " has already " + job.status(), Map.of("status", job.status().toString()));
        }
        job.cancel();
        return job;
    }

    /**
     * The journal's history, oldest first: applied edits with the later edits that block reverting them alone, and
     * reverted ones with when (and with which edit) they were reverted. Read without the worker (the journal is
     * synchronized and an entry is immutable), so a long edit does not hold up the listing.
     */
    List<Map<String, Object>> journalView() {
        return journal.history().stream().map(this::view).toList();
    }

    Map<String, Object> edit(String id) {
        return view(entry(id));
    }

    private Map<String, Object> view(EditJournal.Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("status", e.status().toString());
        m.put("job_id", jobOfEdit.get(e.id()));
        m.put("method", e.method());
        m.put("hyper_parameters", e.hyperParameters());
        m.put("requests", e.requests());
        m.put("weights", e.weightNames());
        m.put("loss_per_step", e.lossPerStep());
        m.put("seconds", e.seconds());
        m.put("applied_at", e.appliedAt().toString());
        if (e.revertedAt() != null) {
            m.put("reverted_at", e.revertedAt().toString());
            if (e.revertedWith() != null) {
                m.put("reverted_with", e.revertedWith());
            }
        }
        List<String> blockedBy = List.of();
        if (e.status() == EditJournal.Status.APPLIED) {
            try {
                blockedBy = journal.dependents(e.id()).stream().map(AppliedEdit::id).toList();
            } catch (IceditException revertedMeanwhile) {
                // reverted between the two reads; the next listing shows it so
            }
        }
        m.put("blocked_by", blockedBy);
        return m;
    }

    private EditJournal.Entry entry(String id) {
        EditJournal.Entry e = journal.entry(id);
        if (e == null) {
            throw ApiError.notFound("no edit with id '" + WorkDir.printable(id) + "'");
        }
        return e;
    }

    /** An applied edit: 404 for an unknown id, 409 "already reverted" for a reverted one. */
    private AppliedEdit find(String id) {
        EditJournal.Entry e = entry(id);
        if (e.status() == EditJournal.Status.REVERTED) {
            throw ApiError.conflict(EditJournal.alreadyReverted(e), Map.of("status", e.status().toString()));
        }
        return journal.find(id);
    }

    /**
     * Reverts an edit. Refused (409, with the blocking ids) when later edits changed the same weights, unless
     * {@code cascade}, which reverts those first, newest first. Returns the ids reverted, in order.
     */
    List<String> revert(String id, boolean cascade) {
        return onWorker(() -> {
            find(id);
            List<String> later = journal.dependents(id).stream().map(AppliedEdit::id).toList();
            if (!later.isEmpty() && !cascade) {
                throw ApiError.conflict("cannot revert " + id + ": later edit(s) " + String.join(", ", later)
                        + " changed the same weights; revert them first, or ask for cascade=true to revert them"
                        + " together", Map.of("blocked_by", later));
            }
            return journal.revert(id, cascade);
        });
    }

    /** Writes an applied edit as a patch file (never over anything but a patch); 409 for a reverted edit. */
    void writePatch(String id, Path file) {
        onWorker(() -> {
            AppliedEdit e = find(id);
            try {
                EditPatch.refuseToReplace(file, false);
            } catch (IceditException refused) {
                throw ApiError.conflict(refused.getMessage(), Map.of());
            }
            try {
                EditPatch.write(file, e, model);
            } catch (IOException ex) {
                throw new ApiError(500, "cannot write the patch: " + Json.oneLine(ex.getMessage()), Map.of());
            }
            return null;
        });
    }

    /**
     * Saves the model with the edits applied so far (and those queued before this call), into a new or empty
     * directory or over a model directory icedit wrote (409 otherwise); files there that are not the model's stay.
     */
    List<String> save(Path dir) {
        return onWorker(() -> {
            try {
                SaveTarget.check(dir, false);
            } catch (IceditException refused) {
                throw ApiError.conflict(refused.getMessage(), Map.of());
            }
            try {
                model.save(dir);
            } catch (IOException ex) {
                throw new ApiError(500, "cannot save the model: " + Json.oneLine(ex.getMessage()), Map.of());
            }
            return journal.edits().stream().map(AppliedEdit::id).toList();
        });
    }

    /** Runs an operation on the worker, after everything queued before it, and waits for its result. */
    private <T> T onWorker(Callable<T> op) {
        Future<T> f = worker.submit(op);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.unavailable("interrupted while waiting for the edit worker");
        }
    }

    /** Stops the worker: queued jobs are cancelled, a running one is asked to stop. The journal stays as it is. */
    @Override
    public void close() {
        synchronized (jobs) {
            jobs.values().stream().filter(j -> !j.status().terminal()).forEach(EditJob::cancel);
        }
        worker.shutdown();
        try {
            if (!worker.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("the edit worker did not stop within 60 s");
                worker.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            worker.shutdownNow();
        }
    }
}
