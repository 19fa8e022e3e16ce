package dev.icedit.eval.run;

import dev.icedit.eval.data.EvalCase;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The pre-edit observations of a run's cases, measured ahead in batches: asked for a case, it measures that case
 * and the next ones still to do (up to {@code batch}) together on the unedited weights, which no edit changes, and
 * hands each out once. Each case is charged an equal share of its batch's seconds. With a {@link BeforeCache},
 * cases found there are not measured, and measured ones are stored there.
 */
final class Befores {
    /** Cases measured per batch: enough rows to amortise each decode step, few enough to keep the batch small. */
    static final int DEFAULT_BATCH = 16;

    private final CaseMeasurer measurer;
    private final List<EvalCase> order;
    private final Predicate<EvalCase> needed;
    private final int batch;
    private final Map<Integer, CaseMeasurer.Observation> ready = new HashMap<>();
    private final Map<Integer, Double> seconds = new HashMap<>();
    private final BeforeCache cache;

    /** {@code order}: the cases in the order they will be asked for; {@code needed}: whether a case is still to do. */
    Befores(CaseMeasurer measurer, List<EvalCase> order, Predicate<EvalCase> needed, int batch, BeforeCache cache) {
        this.cache = cache;
        this.measurer = measurer;
        this.order = order;
        this.needed = needed;
        this.batch = Math.max(1, batch);
    }

    /** The case's pre-edit observation, measured now (with the next cases) unless it already was. */
    CaseMeasurer.Observation take(EvalCase c) {
        CaseMeasurer.Observation o = ready.remove(c.index());
        if (o != null) {
            return o;
        }
        long start = System.nanoTime();
        o = cache == null ? null : cache.get(c);
        if (o != null) {
            seconds.put(c.index(), (System.nanoTime() - start) / 1e9);
            return o;
        }
        List<EvalCase> group = new ArrayList<>(List.of(c));
        int at = indexOf(c);
        for (int i = at + 1; at >= 0 && i < order.size() && group.size() < batch; i++) {
            EvalCase next = order.get(i);
            if (needed.test(next) && !ready.containsKey(next.index()) && next.index() != c.index()) {
                CaseMeasurer.Observation cached = cache == null ? null : cache.get(next);
                if (cached != null) {
                    ready.put(next.index(), cached);
                } else {
                    group.add(next);
                }
            }
        }
        List<CaseMeasurer.Observation> measured = measurer.beforeAll(group);
        double share = (System.nanoTime() - start) / 1e9 / group.size();
        for (int i = 0; i < group.size(); i++) {
            if (cache != null) {
                cache.put(group.get(i), measured.get(i));
            }
            if (i > 0) {
                ready.put(group.get(i).index(), measured.get(i));
            }
            seconds.put(group.get(i).index(), share);
        }
        return measured.get(0);
    }

    /** The seconds charged to the case's pre-edit observation (its share of the batch that measured it). */
    double seconds(EvalCase c) {
        Double s = seconds.remove(c.index());
        return s == null ? 0 : s;
    }

    private int indexOf(EvalCase c) {
        for (int i = 0; i < order.size(); i++) {
            if (order.get(i).index() == c.index()) {
                return i;
            }
        }
        return -1;
    }
}
