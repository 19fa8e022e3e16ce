package dev.icedit.eval.metrics;

import java.util.Locale;
import java.util.Set;
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
    /** Where a generated answer may end: a newline, or . ! ? followed by whitespace or the end of the text. */
    private static final Pattern END = Pattern.compile("\\n|[.!?](?=\\s|$)");
    /**
     * Words whose period is not a sentence end: titles and abbreviations found in KnowEdit and CounterFact answers
     * ("St. Louis", "Leland Stanford Jr. University", "Dr. Sulaiman Al Habib").
     */
    private static final Set<String> ABBREVIATIONS = Set.of("mr", "mrs", "ms", "dr", "st", "jr", "sr", "mt", "ft",
            "prof", "gen", "col", "lt", "sgt", "capt", "rev", "hon", "gov", "sen", "rep", "inc", "ltd", "co", "corp",
            "vs", "no", "ave");

    private AnswerMatch() {}

    /** SQuAD's normalize_answer: lower, remove punctuation, remove articles, collapse whitespace. */
    public static String normalize(String s) {
        String t = s.toLowerCase(Locale.ROOT);
        t = PUNCTUATION.matcher(t).replaceAll("");
        t = ARTICLES.matcher(t).replaceAll(" ");
        return SPACES.matcher(t).replaceAll(" ").strip();
    }

    /**
     * The generated text up to its first newline or sentence end (the answer the model gave). A period does not end
     * the answer when it closes an initial or a dotted abbreviation ("John F. Kennedy", "U.S. Navy", "J.J. Abrams")
     * or a title ("St. Louis"), since answers contain them.
     */
    public static String firstAnswer(String generated) {
        var m = END.matcher(generated);
        while (m.find()) {
            if (generated.charAt(m.start()) != '.' || !closesAbbreviation(generated, m.start())) {
                return generated.substring(0, m.start());
            }
        }
        return generated;
    }

    /** Whether the period at {@code dot} closes a single letter, a word with a period in it, or a known title. */
    private static boolean closesAbbreviation(String text, int dot) {
        int start = dot;
        while (start > 0 && !Character.isWhitespace(text.charAt(start - 1))) {
            start--;
        }
        String word = text.substring(start, dot);
        if (word.indexOf('.') >= 0) {
            return true; // U.S, D.C, J.J
        }
        for (int i = 0; i < word.length(); i++) {
            if (!Character.isLetter(word.charAt(i))) {
                return false; // "1990." or "(Rome)." ends a sentence
            }
        }
        return word.length() == 1 || ABBREVIATIONS.contains(word.toLowerCase(Locale.ROOT));
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
