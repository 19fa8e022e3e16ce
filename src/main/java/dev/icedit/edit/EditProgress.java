package dev.icedit.edit;

/** Receives progress of a running edit; calls come from the editing thread. */
public interface EditProgress {
    EditProgress NONE = new EditProgress() {};

    /** A step finished: {@code step} counts from 1 to {@code total}; {@code loss} is its mean loss. */
    default void step(int step, int total, double loss) {}

    /** A phase of the method started (for example "computing covariance statistics"). */
    default void phase(String description) {}

    /** Whether the caller asked to stop; methods check it between steps and stop with an exception. */
    default boolean cancelled() {
        return false;
    }
}
