package dev.icedit.eval.data;

/**
 * A portability or locality question attached to a case: its type as the dataset names it (Reasoning,
 * Subject_Aliasing, Relation_Specificity, ...), the prompt, and the answer (the first alias where the dataset gives a
 * list).
 */
public record EvalItem(String type, String prompt, String answer) {}
