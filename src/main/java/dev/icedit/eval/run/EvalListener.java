package dev.icedit.eval.run;

/** Receives progress of an evaluation; calls come one at a time (from the workers' threads with {@code --jobs}). */
public interface EvalListener {
    EvalListener NONE = new EvalListener() {};

    /** Work of {@code total} steps starts, {@code done} of them finished in an earlier run. */
    default void started(String phase, int total, int done) {}

    /** One more step finished. */
    default void advanced(int done) {}

    /** The phase ended. */
    default void finished() {}

    /** A line worth telling the user (resumed cases, warnings). */
    default void info(String line) {}
}
