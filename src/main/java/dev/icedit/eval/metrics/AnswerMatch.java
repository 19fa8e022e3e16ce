package dev.icedit.eval.metrics;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Scoring a generated answer as text, with SQuAD's answer normalisation: lower case, punctuation removed, the
 * articles a/an/the removed, whitespace collapsed. Exact match: the normalised texts are equal. Containment: the
 * normalised answer occurs in the normalised generation as whole words.
 */
public final class AnswerMatch {
    private static final Pattern PUNCTUATION = Pattern.compile("[\\p{P}\\p{S}]");
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b");
    private static final Pattern SPACES = Pattern.compile("\\s+");
    /** Where a generated answer ends: a newline, or . ! ? followed by whitespace or the end of the text. */
    private static final Pattern END = Pattern.compile("\\n|[.!?](?=\\s|$)");

    private AnswerMatch() {}

    /** SQuAD's normalize_answer: lower, remove punctuation, remove articles, collapse whitespace. */
    public static String normalize(String s) {
        String t = s.toLowerCase(Locale.ROOT);
        t = PUNCTUATION.matcher(t).replaceAll("");
        t = ARTICLES.matcher(t).replaceAll(" ");
        return SPACES.matcher(t).replaceAll(" ").strip();
    }

    /** The generated text up to its first newline or sentence end (the answer the model gave). */
    public static String firstAnswer(String generated) {
        var m = END.matcher(generated);
        return m.find() ? generated.substring(0, m.start()) : generated;
    }

    /** 100 when the normalised texts are equal, else 0. */
    public static double exactMatch(String generated, String answer) {
        return normalize(generated).equals(normalize(answer)) ? 100 : 0;
    }

    /** 100 when the normalised answer occurs in the normalised generation as whole words, else 0. */
    public static double contains(String generated, String answer) {
        String a = normalize(answer);
        return (" " + normalize(generated) + " ").contains(" " + a + " ") ? 100 : 0;
    }

    /** A token budget for an answer of {@code answerTokens} tokens: twice its length plus 2. */
    public static int budget(int answerTokens) {
        return 2 * answerTokens + 2;
    }
}
