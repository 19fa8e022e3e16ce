package dev.icedit.eval.run;

import dev.icedit.eval.data.EvalCase;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The pre-edit observations of a run's cases, measured ahead in batches: asked for a case, it measures the next
 * cases still to do (up to {@code batch}) together on the unedited weights, which no edit changes, and hands each out
 * once. Each case is charged an equal share of its batch's seconds. With a {@link BeforeCache}, cases found there are
 * not measured, and measured ones are stored there.
 *
 * <p>The batches are the same however the cases are asked for: consecutive runs of {@code batch} cases, in
 * {@code order}, among those still to do and not in the cache. So several workers (each measuring with its own copy
 * of the model) can share one, and a case's observation is the one a sequential run takes, to the bit: generation is
 * batched, and a batch padded to other lengths could round differently. A worker asking for a case that another is
 * measuring waits for it.
 */
final class Befores {
    /** Cases measured per batch: enough rows to amortise each decode step, few enough to keep the batch small. */
    static final int DEFAULT_BATCH = 16;

    private final List<EvalCase> order;
    private final Map<Integer, Integer> positions = new HashMap<>();
    private final Predicate<EvalCase> needed;
    private final int batch;
    private final Map<Integer, CaseMeasurer.Observation> ready = new HashMap<>();
    private final Map<Integer, Double> seconds = new HashMap<>();
    private final Set<Integer> measuring = new HashSet<>();
    private final BeforeCache cache;
    /** Cases of {@code order} before it have been measured, read from the cache or passed over. */
    private int cursor;
    private String failure;
    private final List<List<Integer>> batches = new ArrayList<>();

    /**
     * {@code order}: the cases in the order they will (mostly) be asked for; {@code needed}: whether a case is still
     * to do (its answer must not change while the run goes on).
     */
    Befores(List<EvalCase> order, Predicate<EvalCase> needed, int batch, BeforeCache cache) {
        this.cache = cache;
        this.order = order;
        this.needed = needed;
        this.batch = Math.max(1, batch);
        for (int i = 0; i < order.size(); i++) {
            positions.putIfAbsent(order.get(i).index(), i);
        }
    }

    /**
     * The case's pre-edit observation: measured now with {@code measurer} (on its model's unedited weights, with the
     * next cases of its batch) unless it already was, or is being measured by another caller.
     */
    CaseMeasurer.Observation take(CaseMeasurer measurer, EvalCase c) {
        List<EvalCase> group;
        long start;
        synchronized (this) {
            while (true) {
                CaseMeasurer.Observation o = ready.remove(c.index());
                if (o != null) {
                    return o;
                }
                if (failure != null) {
                    throw new IceditException("pre-edit measurement stopped: " + failure);
                }
                if (measuring.contains(c.index())) {
                    waitForOthers();
                    continue;
                }
                Integer at = positions.get(c.index());
                if (at == null || at < cursor) {
                    // not in the order, or asked for twice: measured alone
                    group = new ArrayList<>(List.of(c));
                    start = System.nanoTime();
                    break;
                }
                start = System.nanoTime();
                group = nextGroup();
                if (!group.isEmpty()) {
                    batches.add(group.stream().map(EvalCase::index).toList());
                    group.forEach(g -> measuring.add(g.index()));
                    break;
                }
            }
        }
        List<CaseMeasurer.Observation> measured;
        try {
            measured = measurer.beforeAll(group);
        } catch (RuntimeException e) {
            synchronized (this) {
                failure = e.getMessage();
                group.forEach(g -> measuring.remove(g.index()));
                notifyAll();
            }
            throw e;
        }
        double share = (System.nanoTime() - start) / 1e9 / group.size();
        synchronized (this) {
            for (int i = 0; i < group.size(); i++) {
                if (cache != null) {
                    cache.put(group.get(i), measured.get(i));
                }
                ready.put(group.get(i).index(), measured.get(i));
                seconds.put(group.get(i).index(), share);
                measuring.remove(group.get(i).index());
            }
            notifyAll();
        }
        return take(measurer, c);
    }

    /**
     * Goes on from the cursor as a sequential run would: the first case still to do is read from the cache, or
     * starts a batch with the next cases to do that the cache lacks (those it holds on the way are read). Returns
     * the batch, empty when the first case came from the cache (or none was left).
     */
    private List<EvalCase> nextGroup() {
        List<EvalCase> group = new ArrayList<>();
        while (cursor < order.size() && group.size() < batch) {
            EvalCase next = order.get(cursor);
            if (!needed.test(next)) {
                cursor++;
                continue;
            }
            long start = System.nanoTime();
            CaseMeasurer.Observation cached = cache == null ? null : cache.get(next);
            cursor++;
            if (cached != null) {
                ready.put(next.index(), cached);
                if (group.isEmpty()) {
                    seconds.put(next.index(), (System.nanoTime() - start) / 1e9);
                    return group;
                }
            } else {
                group.add(next);
            }
        }
        return group;
    }

    private void waitForOthers() {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IceditException("interrupted while waiting for a pre-edit measurement");
        }
    }

    /** The batches measured so far (the record indices of their cases), in the order they were formed. */
    synchronized List<List<Integer>> batches() {
        return List.copyOf(batches);
    }

    /** The seconds charged to the case's pre-edit observation (its share of the batch that measured it). */
    synchronized double seconds(EvalCase c) {
        Double s = seconds.remove(c.index());
        return s == null ? 0 : s;
    }
}
