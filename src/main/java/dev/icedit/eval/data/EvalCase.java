package dev.icedit.eval.data;

import dev.icedit.edit.EditRequest;
import java.util.List;

/**
 * One edit to evaluate, in the same shape whatever the dataset layout: the edit itself ({@code prompt} ->
 * {@code targetNew}), the rephrased prompt where the dataset has one, and its portability and locality questions.
 *
 * @param index position of the record in the file (0-based, counting skipped records), so a case can be found there
 * @param groundTruth the answer before the edit, where the dataset gives it (not used by any metric)
 * @param context sentences stating the new fact, from the record's {@code context} field or {@code --contexts}: ICE
 *     reads them in its pass with context, as the reference does (empty: the method's default)
 */
public record EvalCase(int index, String prompt, String targetNew, String subject, String groundTruth,
        String rephrasePrompt, List<EvalItem> portability, List<EvalItem> locality, List<String> context) {

    public EvalCase {
        portability = List.copyOf(portability);
        locality = List.copyOf(locality);
        context = context == null ? List.of() : List.copyOf(context);
    }

    public EvalCase(int index, String prompt, String targetNew, String subject, String groundTruth,
            String rephrasePrompt, List<EvalItem> portability, List<EvalItem> locality) {
        this(index, prompt, targetNew, subject, groundTruth, rephrasePrompt, portability, locality, List.of());
    }

    /** The edit as a request to an editing method, with the case's context sentences (none: the method's default). */
    public EditRequest request() {
        return new EditRequest(prompt, targetNew, subject, context);
    }

    /** The same case with these context sentences. */
    public EvalCase withContext(List<String> sentences) {
        return new EvalCase(index, prompt, targetNew, subject, groundTruth, rephrasePrompt, portability, locality,
                sentences);
    }
}
