package dev.icedit.eval.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fluency as ROME/EasyEdit/ICE measure it: the weighted n-gram entropy of a generated text,
 * {@code 100 * (2/3 * H2 + 4/3 * H3) / 2}, where Hn is the entropy in bits of the frequency distribution of the
 * text's word n-grams. A text that repeats itself has low entropy.
 *
 * <p>Words are split the way a simple word tokenizer does: runs of letters and digits (with inner apostrophes,
 * hyphens and dots, as in "don't", "well-known", "3.5") and single punctuation marks. The reference uses NLTK's
 * word_tokenize, which also splits clitics ("do", "n't"); the difference moves the entropy of ordinary text very
 * little.
 */
public final class Fluency {
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+(?:['\u2019.\\-][\\p{L}\\p{N}]+)*|[^\\s\\p{L}\\p{N}]");

    private Fluency() {}

    public static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = WORD.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    /** Entropy in bits of the frequency distribution of the n-grams of {@code words}; 0 when there are none. */
    public static double entropyBits(List<String> words, int n) {
        Map<List<String>, Integer> counts = new HashMap<>();
        int total = 0;
        for (int i = 0; i + n <= words.size(); i++) {
            counts.merge(List.copyOf(words.subList(i, i + n)), 1, Integer::sum);
            total++;
        }
        double h = 0;
        for (int c : counts.values()) {
            double p = (double) c / total;
            h -= p * Math.log(p) / Math.log(2);
        }
        return h;
    }

    /** A text's fluency score: 100 times the mean of 2/3 * H2 and 4/3 * H3. */
    public static double score(String text) {
        List<String> w = words(text);
        return 100 * (2.0 / 3 * entropyBits(w, 2) + 4.0 / 3 * entropyBits(w, 3)) / 2;
    }
}
