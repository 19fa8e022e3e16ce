package dev.icedit.eval.metrics;

import java.util.List;
import java.util.Locale;

/**
 * How answers are measured. {@code teacher-forced}: the KnowEdit metrics (token accuracy of the answer given the
 * prompt, argmax agreement for locality, fluency and PPL_r from a sampled text, exact match of a greedy continuation
 * as long as the target). {@code generation}: the model answers each prompt by greedy free generation, scored as
 * text ({@link AnswerMatch}). Every metric names the protocol it was measured under, so that numbers of different
 * protocols are never mixed.
 */
public enum Protocol {
    TEACHER_FORCED, GENERATION, BOTH;

    public static Protocol parse(String s) {
        for (Protocol p : values()) {
            if (p.label().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new dev.icedit.tensor.IceditException("unknown protocol '" + s
                + "' (expected teacher-forced, generation or both)");
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public boolean teacherForced() {
        return this != GENERATION;
    }

    public boolean generation() {
        return this != TEACHER_FORCED;
    }

    /** The protocols a run of this setting measures, each on its own: teacher-forced, generation or both. */
    public List<Protocol> measured() {
        return this == BOTH ? List.of(TEACHER_FORCED, GENERATION) : List.of(this);
    }
}
