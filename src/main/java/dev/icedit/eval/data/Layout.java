package dev.icedit.eval.data;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The dataset layouts the evaluation reads, told apart by the fields of a record (never by the file name).
 *
 * <ul>
 *   <li>ZsRE (KnowEdit): prompt, target_new, rephrase_prompt, portability, locality; ground_truth is a list.</li>
 *   <li>wiki_counterfact (KnowEdit): prompt, target_new, ground_truth (a string), portability, locality.</li>
 *   <li>wiki_recent (KnowEdit): as wiki_counterfact without ground_truth; answers are lists of alias lists.</li>
 *   <li>WikiBio (KnowEdit): text (the prompt), labels (the target), concept (the subject), locality.</li>
 *   <li>CounterFact (EasyEdit's flat layout): prompt, target_new, subject, ground_truth, rephrase_prompt,
 *       locality_prompt, locality_ground_truth.</li>
 * </ul>
 */
public enum Layout {
    ZSRE("ZsRE"),
    WIKI_COUNTERFACT("wiki_counterfact"),
    WIKI_RECENT("wiki_recent"),
    WIKIBIO("WikiBio"),
    COUNTERFACT("CounterFact");

    private final String displayName;

    Layout(String displayName) {
        this.displayName = displayName;
    }

    public String displayName() {
        return displayName;
    }

    /** The layout a single record looks like, or null when it looks like none of them. */
    public static Layout recognise(JsonNode record) {
        if (record == null || !record.isObject()) {
            return null;
        }
        if (record.has("text") && record.has("labels")) {
            return WIKIBIO;
        }
        if (record.has("locality_prompt") || record.has("locality_ground_truth")) {
            return COUNTERFACT;
        }
        if (!record.has("prompt") || !record.has("target_new")) {
            return null;
        }
        boolean sections = record.has("portability") || record.has("locality");
        if (record.has("rephrase_prompt") && (sections || record.has("cond"))) {
            return ZSRE;
        }
        if (!sections) {
            return null;
        }
        return record.has("ground_truth") ? WIKI_COUNTERFACT : WIKI_RECENT;
    }

    /** What the file of each layout looks like, for error messages. */
    public static String expected() {
        return "KnowEdit ZsRE {prompt, target_new, rephrase_prompt, portability, locality}, KnowEdit wiki_counterfact"
                + " {prompt, target_new, ground_truth, portability, locality}, KnowEdit wiki_recent {prompt, target_new,"
                + " portability, locality}, KnowEdit WikiBio {text, labels, concept, locality} or EasyEdit CounterFact"
                + " {prompt, target_new, subject, rephrase_prompt, locality_prompt, locality_ground_truth}";
    }
}
