package dev.icedit.eval.run;

import dev.icedit.edit.EditRequest;
import dev.icedit.eval.metrics.Measurement;

/**
 * One line of cases.jsonl: a finished case.
 *
 * @param position the case's place in the run (0 = the first selected case)
 * @param index the record's index in the data file
 * @param editsApplied how many edits were installed when {@code post} was measured (1 in single mode)
 * @param pre the case on the unedited model
 * @param post the case after the edit(s)
 * @param editSeconds time the method took to compute this case's edit (0 for the baselines)
 * @param editError why the method produced no edit for this case (then {@code post} is measured without it)
 * @param seconds wall time of the whole case: measuring, editing, reverting
 * @param finishedAt when the case was written (ISO-8601)
 * @param boundaryMerges how many of the case's (prompt, answer) pairs the tokenizer merges across the boundary, so
 *     that the answer's tokens (those after the prompt's in the joint encoding) lose the merged characters
 * @param targetTokens the tokens of target_new after the prompt, as every method trains and every metric scores them
 */
public record CaseRecord(int position, int index, EditRequest request, String rephrasePrompt, int editsApplied,
        Measurement pre, Measurement post, double editSeconds, String editError, double seconds, String finishedAt,
        int boundaryMerges, long[] targetTokens) {}
