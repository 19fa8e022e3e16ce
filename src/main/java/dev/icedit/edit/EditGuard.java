package dev.icedit.edit;

import dev.icedit.model.GenerationOptions;
import dev.icedit.model.Generator;
import dev.icedit.model.LanguageModel;
import java.util.ArrayList;
import java.util.List;

/**
 * An optional check around an edit, beyond the reference implementations: after the edit, each request's target
 * must be the greedy continuation of its prompt, and a sample of unrelated prompts must keep their greedy
 * continuations (the first {@code tokens} tokens). If either check fails, the edit is reverted and the report
 * says why.
 */
public final class EditGuard {
    /** Prompts about unrelated facts, used when the caller gives none. */
    public static final List<String> DEFAULT_PROMPTS = List.of(
            "The capital of France is", "The Eiffel Tower is located in", "The mother tongue of Barack Obama is",
            "Water is made of hydrogen and", "The largest planet in the solar system is",
            "Apple was founded by", "The official language of Japan is", "Mount Everest is in");

    private final List<String> prompts;
    private final int tokens;

    public record Check(String kind, String prompt, String expected, String actual, boolean passed) {}

    public record Report(boolean passed, boolean reverted, List<Check> checks) {
        public List<Check> failures() {
            return checks.stream().filter(c -> !c.passed()).toList();
        }
    }

    /** Greedy continuations of the unrelated prompts before the edit. */
    public record Baseline(List<String> continuations) {}

    public EditGuard(List<String> unrelatedPrompts, int tokens) {
        this.prompts = List.copyOf(unrelatedPrompts);
        this.tokens = tokens;
    }

    public static EditGuard defaults() {
        return new EditGuard(DEFAULT_PROMPTS, 5);
    }

    public Baseline capture(LanguageModel model) {
        return new Baseline(continuations(model, prompts, tokens));
    }

    /** Applies the edit, checks it, and reverts it when a check fails. */
    public Report applyChecked(EditJournal journal, EditResult result, Baseline before) {
        AppliedEdit applied = journal.apply(result);
        LanguageModel model = journal.model();
        List<Check> checks = new ArrayList<>();
        for (EditRequest r : result.requests()) {
            String continuation = continuations(model, List.of(r.prompt()),
                    r.tokens(model.tokenizer()).tokens().length).get(0);
            checks.add(new Check("target", r.prompt(), model.tokenizer().answerText(r.target()), continuation,
                    continuation.strip().startsWith(r.target())));
        }
        List<String> after = continuations(model, prompts, tokens);
        for (int i = 0; i < prompts.size(); i++) {
            checks.add(new Check("unrelated", prompts.get(i), before.continuations().get(i), after.get(i),
                    after.get(i).equals(before.continuations().get(i))));
        }
        boolean passed = checks.stream().allMatch(Check::passed);
        if (!passed) {
            journal.revert(applied.id(), false);
        }
        return new Report(passed, !passed, checks);
    }

    private static List<String> continuations(LanguageModel model, List<String> prompts, int tokens) {
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(model.tokenizer().encodePrompt(p));
        }
        List<String> out = new ArrayList<>();
        for (long[] gen : Generator.generate(model, ids, GenerationOptions.greedy(tokens))) {
            out.add(model.tokenizer().decode(gen));
        }
        return out;
    }
}
