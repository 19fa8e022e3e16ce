package dev.icedit.eval.run;

import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.EditedKeys;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * Runs the method on one case at a time. A method that fails on a case (its loss became NaN, say) produces no edit
 * for it: the case is measured without one and the reason recorded. When the first edits of a run all fail, the
 * settings are at fault rather than the cases, and the run stops. Workers that edit cases side by side, each with
 * its own model and its own attempts, count their successes and failures in one {@link Tally}.
 */
final class EditAttempts {
    static final int FAILURES_BEFORE_STOP = 3;

    /** A method's try at one case: its result (owned by the caller), or why it produced none. */
    record Attempt(EditResult result, double seconds, String error) {
        static final Attempt NONE = new Attempt(null, 0, null);
    }

    /** The run's edits so far that succeeded and that failed, over all its workers. */
    static final class Tally {
        private int succeeded;
        private int failed;

        synchronized void succeeded() {
            succeeded++;
        }

        /** Counts a failure; true when every edit so far failed and there were enough of them to stop. */
        synchronized boolean failedAndStop() {
            failed++;
            return succeeded == 0 && failed >= FAILURES_BEFORE_STOP;
        }

        synchronized int failed() {
            return failed;
        }
    }

    private final LanguageModel model;
    private final MethodPlan plan;
    private final EvalListener listener;
    private final Tally tally;

    EditAttempts(LanguageModel model, MethodPlan plan, EvalListener listener) {
        this(model, plan, listener, new Tally());
    }

    EditAttempts(LanguageModel model, MethodPlan plan, EvalListener listener, Tally tally) {
        this.model = model;
        this.plan = plan;
        this.listener = listener;
        this.tally = tally;
    }

    /** One case's edit, on its own (single mode). */
    Attempt attempt(EvalCase c) {
        try (EditedKeys none = new EditedKeys()) {
            return attempt(c, none);
        }
    }

    /** One case's edit as the next of a sequence whose installed edits wrote {@code earlier}. */
    Attempt attempt(EvalCase c, EditedKeys earlier) {
        if (plan.editor() == null) {
            return Attempt.NONE;
        }
        long start = System.nanoTime();
        try {
            EditResult r = plan.editor().edit(model, List.of(c.request()), EditProgress.NONE, earlier);
            tally.succeeded();
            return new Attempt(r, r.seconds(), null);
        } catch (IceditException e) {
            if (tally.failedAndStop()) {
                throw new IceditException("the first " + tally.failed() + " edits all failed, the last with: " + e.getMessage()
                        + "; stopping (check the method's hyper-parameters)");
            }
            listener.info("record " + c.index() + ": " + plan.name() + " produced no edit: " + e.getMessage());
            return new Attempt(null, (System.nanoTime() - start) / 1e9, e.getMessage());
        }
    }
}
