package dev.icedit.eval.report;

import dev.icedit.eval.metrics.Protocol;

/** What each reported metric is called and how to read it (direction and range), by protocol. */
public final class MetricNames {
    private MetricNames() {}

    /** The metric's key without its per-type suffix. */
    public static String base(String name) {
        int slash = name.indexOf('/');
        return slash < 0 ? name : name.substring(0, slash);
    }

    /** The per-type part of a name, or null. */
    public static String type(String name) {
        int slash = name.indexOf('/');
        return slash < 0 ? null : name.substring(slash + 1);
    }

    public static String label(String name) {
        String label = switch (base(name)) {
            case "edit_succ" -> "Edit Succ.";
            case "edit_succ_contains" -> "Edit Succ. (contains)";
            case "rephrase" -> "Rephrase";
            case "rephrase_contains" -> "Rephrase (contains)";
            case "portability" -> "Portability";
            case "portability_contains" -> "Portability (contains)";
            case "locality" -> "Locality";
            case "fluency" -> "Fluency";
            case "ppl_r" -> "PPL_r";
            case "exact_match" -> "Exact match";
            default -> base(name);
        };
        return type(name) == null ? label : label + ": " + type(name);
    }

    /** Whether a larger value is better (PPL_r: smaller, as the ICE paper reads it). */
    public static boolean higherIsBetter(String name) {
        return !base(name).equals("ppl_r");
    }

    /** Whether the metric is a percentage (0-100). */
    public static boolean percent(String name) {
        return !base(name).equals("fluency") && !base(name).equals("ppl_r");
    }

    /** One line: what the number is, its range and which way is better. */
    public static String meaning(Protocol p, String name) {
        boolean gen = p == Protocol.GENERATION;
        return switch (base(name)) {
            case "edit_succ" -> gen ? "share of edit prompts whose generated answer is the new target (normalised exact"
                    + " match); 0-100, higher is better"
                    : "share of the new target's tokens that are the model's top prediction after the edit prompt"
                            + " (teacher-forced); 0-100, higher is better";
            case "edit_succ_contains" -> "share of edit prompts whose generated answer contains the new target as whole"
                    + " words; 0-100, higher is better";
            case "rephrase" -> gen ? "as Edit Succ. on a rephrased prompt; 0-100, higher is better"
                    : "as Edit Succ. on a rephrased prompt (generalisation); 0-100, higher is better";
            case "rephrase_contains" -> "as Edit Succ. (contains) on a rephrased prompt; 0-100, higher is better";
            case "portability" -> (gen ? "generated answers equal to" : "token accuracy of")
                    + " answers that follow from the edit (aliases, reasoning, logical consequences); 0-100, higher"
                    + " is better";
            case "portability_contains" -> "generated answers that contain the answers following from the edit;"
                    + " 0-100, higher is better";
            case "locality" -> gen ? "share of unrelated prompts whose generated answer is the same as before the"
                    + " edit; 0-100, higher is better (100 = untouched)"
                    : "share of unrelated prompts' answer positions whose top prediction is the same as before the"
                            + " edit; 0-100, higher is better (100 = untouched)";
            case "fluency" -> "100 x weighted bi-/tri-gram entropy of a sampled text; higher is better (less"
                    + " repetition), compare with the unedited model's value";
            case "ppl_r" -> "perplexity of the edited model's sampled text under the unedited model over that of the"
                    + " target; a ratio >= 0, lower is better as the ICE paper reads it";
            case "exact_match" -> "share of prompts whose greedy continuation starts with the target; 0-100, higher is"
                    + " better";
            default -> "";
        };
    }
}
