package dev.icedit.edit.locate;

import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.List;

/**
 * The prefixes that ROME and MEMIT put before a prompt so that the key and the value generalise over contexts: the
 * empty prefix (the bare prompt), then short texts the model itself writes from a few opening words, each followed
 * by ". ". {@code context_template_length_params} lists [length, count] pairs: count texts of about length tokens.
 */
public final class ContextTemplates {
    /** Opening words of the generated texts, as the released code uses them. */
    static final List<String> OPENINGS = List.of("The", "Therefore", "Because", "I", "You");
    /** Sampling among the 5 likeliest tokens, as the released code does. */
    private static final int TOP_K = 5;

    private ContextTemplates() {}

    /**
     * Groups of prefixes: the first holds only "" (the bare prompt), then one group per [length, count] pair.
     * Generation is seeded, so the same model and seed give the same prefixes.
     */
    public static List<List<String>> generate(LanguageModel model, Weights w, List<List<Integer>> lengthParams,
            long seed) {
        Tokenizer tok = model.tokenizer();
        List<List<String>> groups = new ArrayList<>();
        groups.add(List.of(""));
        for (int g = 0; g < lengthParams.size(); g++) {
            int length = lengthParams.get(g).get(0);
            int count = lengthParams.get(g).get(1);
            List<long[]> prompts = new ArrayList<>();
            List<Integer> openingTokens = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String opening = OPENINGS.get(i % OPENINGS.size());
                prompts.add(tok.encode(opening));
                openingTokens.add(tok.encodeText(opening).length);
            }
            // the released code counts the opening words in the length; they are one token in most vocabularies
            int newTokens = Math.max(1, length - openingTokens.stream().mapToInt(Integer::intValue).min().orElse(1));
            GenerationOptions sampling = new GenerationOptions(newTokens, newTokens, 1.0, TOP_K, 1.0, seed + g, false);
            List<long[]> generated = Generator.generate(model, w, prompts, sampling);
            List<String> group = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                long[] ids = concat(prompts.get(i), generated.get(i));
                group.add(tok.decode(ids).strip() + ". ");
            }
            groups.add(group);
        }
        return groups;
    }

    /** Checks a context_template_length_params value: pairs of positive [length, count]. */
    public static List<List<Integer>> check(List<List<Integer>> params) {
        if (params == null) {
            return null;
        }
        for (List<Integer> p : params) {
            if (p == null || p.size() != 2 || p.get(0) == null || p.get(1) == null || p.get(0) < 1 || p.get(1) < 1) {
                throw new IceditException("context_template_length_params must be a list of [length, count] pairs of"
                        + " positive integers, got " + params);
            }
        }
        return List.copyOf(params.stream().map(List::copyOf).toList());
    }

    /** All prefixes of all groups in order, the bare prompt first (ROME averages over them without grouping). */
    public static List<String> flat(List<List<String>> groups) {
        List<String> out = new ArrayList<>();
        groups.forEach(out::addAll);
        return out;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
