package dev.icedit.server;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an edit did, in numbers a person can read: for each edited prompt and each rephrase, the greedy continuation
 * and the probability of the target; for each unrelated prompt, the greedy continuation. Read once before and once
 * after the edit, on the edit worker, so no other weight change falls between the two readings.
 */
final class Probes {
    /** Greedy tokens read past the target's own length, so a reader sees how the sentence goes on. */
    private static final int EXTRA_TOKENS = 4;
    private static final int UNRELATED_TOKENS = 8;

    /** One prompt to read: kind is "edited", "rephrase" or "unrelated"; target is null for unrelated prompts. */
    record Probe(String kind, String prompt, String target) {}

    /** A reading of one probe. */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    record Reading(String continuation, Double targetProbability, Boolean targetIsGreedy) {}

    private Probes() {}

    static List<Probe> of(EditPlan plan) {
        List<Probe> out = new ArrayList<>();
        for (EditRequest r : plan.requests()) {
            out.add(new Probe("edited", r.prompt(), r.target()));
        }
        String firstTarget = plan.requests().get(0).target();
        for (String p : plan.rephrases()) {
            out.add(new Probe("rephrase", p, firstTarget));
        }
        for (String p : plan.unrelated()) {
            out.add(new Probe("unrelated", p, null));
        }
        return out;
    }

    static List<Reading> read(LanguageModel model, List<Probe> probes) {
        Tokenizer tok = model.tokenizer();
        List<Reading> out = new ArrayList<>();
        for (Probe p : probes) {
            if (p.target() == null) {
                long[] promptIds = tok.encodePrompt(p.prompt());
                long[] gen = Generator.generate(model, List.of(promptIds), GenerationOptions.greedy(UNRELATED_TOKENS))
                        .get(0);
                out.add(new Reading(tok.decode(gen), null, null));
                continue;
            }
            Tokenizer.Continuation answer = tok.answer(p.prompt(), p.target());
            long[] promptIds = answer.prompt();
            long[] targetIds = answer.tokens();
            Scorer.Scored s = Scorer.score(model, promptIds, targetIds);
            long[] gen = Generator.generate(model, List.of(promptIds),
                    GenerationOptions.greedy(targetIds.length + EXTRA_TOKENS)).get(0);
            out.add(new Reading(tok.decode(gen), Math.exp(s.sum()), s.tokenAccuracy() == 1.0));
        }
        return out;
    }

    /** Before and after side by side, one row per probe. */
    static List<Map<String, Object>> compare(List<Probe> probes, List<Reading> before, List<Reading> after) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < probes.size(); i++) {
            Probe p = probes.get(i);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("kind", p.kind());
            row.put("prompt", p.prompt());
            if (p.target() != null) {
                row.put("target", p.target());
            }
            row.put("before", before.get(i));
            row.put("after", after.get(i));
            row.put("continuation_changed", !before.get(i).continuation().equals(after.get(i).continuation()));
            rows.add(row);
        }
        return rows;
    }
}
