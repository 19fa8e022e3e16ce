package dev.icedit.edit;

import ai.djl.ndarray.NDArray;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The edits applied to one loaded model, in order. Applying installs an edit's new weights and keeps the weights
 * they replace; reverting puts those back, bit for bit. The journal also keeps its history: every edit ever
 * applied, with its status (applied or reverted), so a reverted edit can still be described and a second revert
 * is answered "already reverted".
 *
 * <p>Revert policy: an edit can be reverted when no later edit changed any of the same weights. Otherwise the
 * request is refused with the ids of the later edits, unless {@code cascade} is set, in which case those later
 * edits are reverted first, newest first. Edits are never re-applied on their own, because a method's update was
 * computed for the weights it saw.
 */
public final class EditJournal {
    private final LanguageModel model;
    private final List<AppliedEdit> applied = new ArrayList<>();
    private final Map<String, Entry> history = new LinkedHashMap<>();
    private int counter;

    /** Whether an edit of the history is installed now. */
    public enum Status {
        APPLIED, REVERTED;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One edit of the history: what it was, and when it was reverted ({@code revertedAt}, null while applied); an
     * edit reverted because an earlier one was reverted with cascade names that one in {@code revertedWith}.
     */
    public record Entry(String id, String method, Map<String, Object> hyperParameters, List<EditRequest> requests,
            List<String> weightNames, List<Double> lossPerStep, double seconds, Instant appliedAt, Instant revertedAt,
            String revertedWith) {
        static Entry of(AppliedEdit e) {
            return new Entry(e.id(), e.method(), e.hyperParameters(), e.requests(), e.weightNames(), e.lossPerStep(),
                    e.seconds(), e.appliedAt(), null, null);
        }

        public Status status() {
            return revertedAt == null ? Status.APPLIED : Status.REVERTED;
        }

        Entry reverted(String with) {
            return new Entry(id, method, hyperParameters, requests, weightNames, lossPerStep, seconds, appliedAt,
                    Instant.now(), with);
        }
    }

    public EditJournal(LanguageModel model) {
        this.model = model;
    }

    public LanguageModel model() {
        return model;
    }

    /** Installs an edit computed on this model's current weights and takes ownership of its tensors. */
    public synchronized AppliedEdit apply(EditResult result) {
        List<String> names = new ArrayList<>(result.newWeights().keySet());
        String current = LanguageModel.fingerprint(model.currentWeights(), names);
        if (!current.equals(result.baseFingerprint())) {
            throw new IceditException("edit was computed for different base weights (fingerprint "
                    + abbreviate(result.baseFingerprint()) + ", this model has " + abbreviate(current) + ")");
        }
        Map<String, NDArray> originals = model.install(result.newWeights());
        result.transferOwnership();
        AppliedEdit edit = new AppliedEdit("e" + (++counter), result.method(), result.hyperParameters(),
                result.requests(), names, result.baseFingerprint(), result.lossPerStep(), result.seconds(),
                Instant.now(), originals, new LinkedHashMap<>(result.newWeights()));
        applied.add(edit);
        history.put(edit.id(), Entry.of(edit));
        return edit;
    }

    /** The edits applied now, oldest first. */
    public synchronized List<AppliedEdit> edits() {
        return List.copyOf(applied);
    }

    /** Every edit applied through this journal, oldest first, reverted ones included. */
    public synchronized List<Entry> history() {
        return List.copyOf(history.values());
    }

    /** An edit of the history, applied or reverted; null when there is none with this id. */
    public synchronized Entry entry(String id) {
        return history.get(id);
    }

    /** An applied edit; refused with "already reverted" for an edit that was reverted. */
    public synchronized AppliedEdit find(String id) {
        return applied.stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow(() -> {
            Entry h = history.get(id);
            return new IceditException(h == null ? "no applied edit with id '" + id + "'"
                    : alreadyReverted(h));
        });
    }

    /** The message for an edit that was reverted: when, and with which edit if by cascade. */
    public static String alreadyReverted(Entry h) {
        return "edit " + h.id() + " was already reverted (at " + h.revertedAt()
                + (h.revertedWith() == null ? "" : ", with " + h.revertedWith()) + ")";
    }

    /** Later edits that changed any weight this edit changed. */
    public synchronized List<AppliedEdit> dependents(String id) {
        AppliedEdit target = find(id);
        int index = applied.indexOf(target);
        Set<String> touched = new HashSet<>(target.weightNames());
        List<AppliedEdit> later = new ArrayList<>();
        for (AppliedEdit e : applied.subList(index + 1, applied.size())) {
            if (e.weightNames().stream().anyMatch(touched::contains)) {
                later.add(e);
                touched.addAll(e.weightNames());
            }
        }
        return later;
    }

    /** Reverts an edit (and, with cascade, the later edits that depend on it); returns the ids reverted. */
    public synchronized List<String> revert(String id, boolean cascade) {
        List<AppliedEdit> later = dependents(id);
        if (!later.isEmpty() && !cascade) {
            throw new IceditException("cannot revert " + id + ": later edit(s) "
                    + later.stream().map(AppliedEdit::id).toList() + " changed the same weights; revert them first"
                    + " or ask for a cascade");
        }
        List<String> reverted = new ArrayList<>();
        for (int i = later.size() - 1; i >= 0; i--) {
            undo(later.get(i), id);
            reverted.add(later.get(i).id());
        }
        undo(find(id), null);
        reverted.add(id);
        return reverted;
    }

    /** Reverts every edit, newest first. */
    public synchronized void revertAll() {
        for (int i = applied.size() - 1; i >= 0; i--) {
            undo(applied.get(i), null);
        }
    }

    private void undo(AppliedEdit e, String with) {
        Map<String, NDArray> replaced = model.install(e.originals());
        for (Map.Entry<String, NDArray> r : replaced.entrySet()) {
            if (r.getValue() != e.installed().get(r.getKey())) {
                throw new IllegalStateException("journal out of step with the model for " + r.getKey());
            }
            r.getValue().close();
        }
        applied.remove(e);
        history.put(e.id(), history.get(e.id()).reverted(with));
    }

    private static String abbreviate(String fp) {
        return fp == null ? "none" : fp.substring(0, Math.min(12, fp.length()));
    }
}
