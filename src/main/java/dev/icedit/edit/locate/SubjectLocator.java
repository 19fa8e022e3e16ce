package dev.icedit.edit.locate;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the subject of a fact inside a prompt and the token where ROME and MEMIT read the key: the subject is
 * matched as text (ignoring case and the subject's surrounding spaces), then mapped to tokens through the
 * tokenizer's character spans, so that it works whatever the tokenizer does with spaces.
 */
public final class SubjectLocator {
    private SubjectLocator() {}

    /** A tokenised text (special tokens included) and the index of the token to read and write at. */
    public record Located(long[] ids, int position) {}

    /** The request's subject, or a clear error when it has none. */
    public static String requireSubject(EditRequest r, String method) {
        if (r.subject() == null || r.subject().isBlank()) {
            throw new IceditException(method + " needs the subject of each fact (the entity it is about), but the"
                    + " request for '" + r.prompt() + "' has none: give --subject or a \"subject\" field");
        }
        return r.subject().strip();
    }

    /** The subject of each request, checking that each has one and that its prompt names it. */
    public static List<String> subjects(List<EditRequest> requests, String method) {
        List<String> subjects = new ArrayList<>();
        for (EditRequest r : requests) {
            String subject = requireSubject(r, method);
            find(r.prompt(), subject);
            subjects.add(subject);
        }
        return subjects;
    }

    /** The [start, end) character range of the first occurrence of {@code subject} in {@code prompt}. */
    public static int[] find(String prompt, String subject) {
        String s = subject.strip();
        if (s.isEmpty()) {
            throw new IceditException("the subject is empty");
        }
        for (int i = 0; i + s.length() <= prompt.length(); i++) {
            if (prompt.regionMatches(true, i, s, 0, s.length())) {
                return new int[] {i, i + s.length()};
            }
        }
        throw new IceditException("subject '" + s + "' does not occur in the prompt '" + prompt
                + "' (matched ignoring case); ROME and MEMIT edit at the subject's tokens, so the prompt must name it");
    }

    /**
     * Tokenises {@code prefix + prompt} as a prompt ({@link Tokenizer#encodePrompt}) and finds the subject's first
     * or last token in it; the subject is searched for in the prompt only, not in the prefix.
     */
    public static Located locate(Tokenizer tok, String prefix, String prompt, String subject, FactToken which) {
        int[] range = find(prompt, subject);
        String text = prefix + prompt;
        return new Located(tok.encodePrompt(text), tokenIndex(tok, text, range[0] + prefix.length(),
                range[1] + prefix.length(), which));
    }

    /** The first or last token of {@code tok.encodePrompt(text)} that covers part of the characters [start, end). */
    public static int tokenIndex(Tokenizer tok, String text, int start, int end, FactToken which) {
        int[][] spans = tok.promptTokenSpans(text);
        int first = -1;
        int last = -1;
        for (int i = 0; i < spans.length; i++) {
            int[] s = spans[i];
            if (s != null && s[0] < end && s[1] > start) {
                if (first < 0) {
                    first = i;
                }
                last = i;
            }
        }
        if (last < 0) {
            throw new IceditException("no token of '" + text + "' covers characters " + start + ".." + end
                    + " ('" + text.substring(start, end) + "')");
        }
        return which == FactToken.SUBJECT_FIRST ? first : last;
    }
}
