package dev.icedit.edit;

/** Receives progress of a running edit; calls come from the editing thread. */
public interface EditProgress {
    EditProgress NONE = new EditProgress() {};

    /** A step finished: {@code step} counts from 1 to {@code total}; {@code loss} is its mean loss. */
    default void step(int step, int total, double loss) {}

    /** A phase of the method started (for example "computing covariance statistics"). */
    default void phase(String description) {}

    /**
     * Progress of a long preparatory task that is not an optimisation step (for example the covariance statistics
     * that ROME and MEMIT compute once per model): {@code done} of {@code total} units of {@code task}.
     */
    default void work(String task, long done, long total) {}

    /** Whether the caller asked to stop; methods check it between steps and stop with an exception. */
    default boolean cancelled() {
        return false;
    }
}
