package dev.icedit.edit;

import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * An optional check around an edit, beyond the reference implementations: after the edit, each request's target
 * must be the greedy continuation of its prompt, and a sample of unrelated prompts must keep their greedy
 * continuations (the first {@code tokens} tokens). If either check fails, the edit is rejected (reverted), and the
 * report says why.
 *
 * <p>"Unrelated" is taken literally: a prompt about the edit itself (one of its prompts, a rephrasing, or text
 * contained in one of its context sentences) is left out of the unrelated set ({@link #excluding}), since the edit
 * is meant to change its answer.
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

    /** A guard whose unrelated prompts are read from a file: one per line; blank lines and "#" comments skipped. */
    public static EditGuard fromFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read the guard prompts: " + e.getMessage());
        }
        List<String> prompts = lines.stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .toList();
        if (prompts.isEmpty()) {
            throw IceditException.inFile(file, "holds no prompts (one per line; '#' starts a comment)");
        }
        return new EditGuard(prompts, 5);
    }

    /** The unrelated prompts this guard checks. */
    public List<String> prompts() {
        return prompts;
    }

    /** This guard without the prompts that are about the edit (see {@link #unrelated}). */
    public EditGuard excluding(List<EditRequest> requests, Collection<String> rephrases) {
        return new EditGuard(unrelated(prompts, requests, rephrases), tokens);
    }

    /**
     * The prompts that are not about the edit: a prompt is left out when it equals, contains or is contained in
     * one of the edit's prompts, rephrasings or context sentences (compared ignoring case, spacing and trailing
     * punctuation).
     */
    public static List<String> unrelated(List<String> prompts, List<EditRequest> requests, Collection<String> rephrases) {
        List<String> related = new ArrayList<>();
        for (EditRequest r : requests) {
            related.add(normal(r.prompt()));
            r.context().forEach(c -> related.add(normal(c)));
        }
        rephrases.forEach(p -> related.add(normal(p)));
        List<String> out = new ArrayList<>();
        for (String p : prompts) {
            String n = normal(p);
            if (related.stream().noneMatch(q -> q.equals(n) || !n.isEmpty() && q.contains(n)
                    || !q.isEmpty() && n.contains(q))) {
                out.add(p);
            }
        }
        return out;
    }

    private static String normal(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").replaceAll("[\\s\\p{Punct}]+$", "").strip();
    }

    public Baseline capture(LanguageModel model) {
        return new Baseline(continuations(model, prompts, tokens));
    }

    /** Applies the edit, checks it, and reverts it when a check fails. */
    public Report applyChecked(EditJournal journal, EditResult result, Baseline before) {
        AppliedEdit applied = journal.apply(result);
        Report report = check(journal.model(), result.requests(), before);
        if (!report.passed()) {
            journal.revert(applied.id(), false);
            return new Report(false, true, report.checks());
        }
        return report;
    }

    /** Checks the model as it is now (the edit applied) against the requests and the baseline; changes nothing. */
    public Report check(LanguageModel model, List<EditRequest> requests, Baseline before) {
        List<Check> checks = new ArrayList<>();
        for (EditRequest r : requests) {
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
        return new Report(checks.stream().allMatch(Check::passed), false, checks);
    }

    private static List<String> continuations(LanguageModel model, List<String> prompts, int tokens) {
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) {
            ids.add(model.tokenizer().encodePrompt(p));
        }
        List<String> out = new ArrayList<>();
        if (ids.isEmpty()) {
            return out;
        }
        for (long[] gen : Generator.generate(model, ids, GenerationOptions.greedy(tokens))) {
            out.add(model.tokenizer().decode(gen));
        }
        return out;
    }
}
