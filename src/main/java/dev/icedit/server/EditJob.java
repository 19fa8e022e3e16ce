package dev.icedit.server;

import dev.icedit.edit.EditProgress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One queued edit and everything that happened to it. The edit worker records progress here; status requests take
 * snapshots and event streams replay {@link #eventsFrom} from the start, so a client that connects late misses
 * nothing. Events: "status" (the job changed state), "phase", "progress" (a step's loss), and "done" (last).
 */
final class EditJob {
    enum Status {
        QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

        boolean terminal() {
            return this == SUCCEEDED || this == FAILED || this == CANCELLED;
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    record Event(String name, Object data) {}

    final String id;
    final EditPlan plan;
    private final Instant created = Instant.now();
    private Instant started;
    private Instant finished;
    private Status status = Status.QUEUED;
    private String phase;
    private int step;
    private int totalSteps;
    private final List<Double> losses = new ArrayList<>();
    private String error;
    private Map<String, Object> result;
    private volatile boolean cancelRequested;
    private final List<Event> events = new ArrayList<>();

    EditJob(String id, EditPlan plan) {
        this.id = id;
        this.plan = plan;
        events.add(new Event("status", snapshot()));
    }

    /** Progress callbacks for the editor; a cancel request stops the method at its next step. */
    EditProgress progress() {
        return new EditProgress() {
            @Override
            public void step(int s, int total, double loss) {
                synchronized (EditJob.this) {
                    step = s;
                    totalSteps = total;
                    losses.add(loss);
                    publish("progress", Map.of("step", s, "total_steps", total, "loss", loss));
                }
            }

            @Override
            public void phase(String description) {
                synchronized (EditJob.this) {
                    phase = description;
                    publish("phase", Map.of("phase", description));
                }
            }

            @Override
            public boolean cancelled() {
                return cancelRequested;
            }
        };
    }

    /** Moves a queued job to running; false when it was cancelled while it waited. */
    synchronized boolean start() {
        if (status != Status.QUEUED) {
            return false;
        }
        status = Status.RUNNING;
        started = Instant.now();
        publish("status", snapshot());
        return true;
    }

    synchronized void phase(String description) {
        phase = description;
        publish("phase", Map.of("phase", description));
    }

    synchronized void succeed(Map<String, Object> r) {
        result = r;
        finish(Status.SUCCEEDED);
    }

    synchronized void fail(String message) {
        error = message;
        finish(cancelRequested ? Status.CANCELLED : Status.FAILED);
    }

    /** Asks the job to stop: a queued job is cancelled at once, a running one at its method's next step check. */
    synchronized void cancel() {
        cancelRequested = true;
        if (status == Status.QUEUED) {
            error = "cancelled before it started";
            finish(Status.CANCELLED);
        }
    }

    private void finish(Status s) {
        status = s;
        finished = Instant.now();
        phase = null;
        Map<String, Object> snap = snapshot();
        publish("status", snap);
        publish("done", snap);
    }

    synchronized Status status() {
        return status;
    }

    private void publish(String name, Object data) {
        events.add(new Event(name, data));
        notifyAll();
    }

    /** Events from {@code index} on, waiting up to {@code timeoutMillis} for one when there are none yet. */
    synchronized List<Event> eventsFrom(int index, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (events.size() <= index) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return List.of();
            }
            wait(left);
        }
        return List.copyOf(events.subList(index, events.size()));
    }

    synchronized Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", status.toString());
        m.put("method", plan.method());
        m.put("hyper_parameters", plan.hyperParameters());
        m.put("requests", plan.requests());
        m.put("created_at", created.toString());
        m.put("started_at", started == null ? null : started.toString());
        m.put("finished_at", finished == null ? null : finished.toString());
        m.put("phase", phase);
        m.put("step", step);
        m.put("total_steps", totalSteps);
        m.put("loss_per_step", List.copyOf(losses));
        m.put("error", error);
        m.put("result", result);
        return m;
    }
}
