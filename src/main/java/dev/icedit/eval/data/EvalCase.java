package dev.icedit.eval.data;

import dev.icedit.edit.EditRequest;
import java.util.List;

/**
 * One edit to evaluate, in the same shape whatever the dataset layout: the edit itself ({@code prompt} ->
 * {@code targetNew}), the rephrased prompt where the dataset has one, and its portability and locality questions.
 *
 * @param index position of the record in the file (0-based, counting skipped records), so a case can be found there
 * @param groundTruth the answer before the edit, where the dataset gives it (not used by any metric)
 */
public record EvalCase(int index, String prompt, String targetNew, String subject, String groundTruth,
        String rephrasePrompt, List<EvalItem> portability, List<EvalItem> locality) {

    public EvalCase {
        portability = List.copyOf(portability);
        locality = List.copyOf(locality);
    }

    /** The edit as a request to an editing method (no context sentences: methods use their defaults). */
    public EditRequest request() {
        return new EditRequest(prompt, targetNew, subject, List.of());
    }
}
