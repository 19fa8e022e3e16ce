package dev.icedit.eval.run;

import java.util.List;

/**
 * One line of edits.jsonl (continual runs): an edit as it was attempted, in order. {@code error} says why the method
 * produced no edit (then nothing was applied for this case).
 */
public record EditLogEntry(int position, int index, double seconds, List<Double> lossPerStep, String error) {
    public boolean applied() {
        return error == null;
    }
}
