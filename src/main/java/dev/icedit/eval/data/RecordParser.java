package dev.icedit.eval.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.model.tokenizer.Unicode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Turns one record of a known layout into a case, or says precisely what is wrong with it. */
final class RecordParser {
    /** Why a record cannot be used; the loader skips it and reports the message. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message);
        }
    }

    private RecordParser() {}

    static EvalCase parse(Layout layout, int index, JsonNode r) throws Malformed {
        if (r == null || !r.isObject()) {
            throw new Malformed("not a JSON object");
        }
        EvalCase c = switch (layout) {
            case WIKIBIO -> new EvalCase(index, text(r, "text"), answer(r, "labels"), optionalText(r, "concept"),
                    null, null, List.of(), items(r, "locality"));
            case COUNTERFACT -> new EvalCase(index, text(r, "prompt"), answer(r, "target_new"),
                    optionalText(r, "subject"), optionalAnswer(r, "ground_truth"), optionalText(r, "rephrase_prompt"),
                    List.of(), counterfactLocality(r));
            case ZSRE, WIKI_COUNTERFACT, WIKI_RECENT -> new EvalCase(index, text(r, "prompt"), answer(r, "target_new"),
                    optionalText(r, "subject"), optionalAnswer(r, "ground_truth"),
                    layout == Layout.ZSRE ? optionalText(r, "rephrase_prompt") : null,
                    items(r, "portability"), items(r, "locality"));
        };
        return present(r, "context") ? c.withContext(context(r.get("context"), "context")) : c;
    }

    /**
     * Context sentences stating the new fact (the reference's {@code context} field): a string, or a list of
     * strings, each non-empty; {@code where} names the field in messages.
     */
    static List<String> context(JsonNode n, String where) throws Malformed {
        if (n.isTextual()) {
            return List.of(contextSentence(n, where));
        }
        if (!n.isArray()) {
            throw new Malformed("'" + where + "' must be a string or a list of strings, got " + kind(n));
        }
        if (n.isEmpty()) {
            throw new Malformed("'" + where + "' is an empty list");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode s = n.get(i);
            String at = where + "[" + i + "]";
            if (!s.isTextual()) {
                throw new Malformed("'" + at + "' must be a string, got " + kind(s));
            }
            out.add(contextSentence(s, at));
        }
        return out;
    }

    private static String contextSentence(JsonNode n, String where) throws Malformed {
        if (n.asText().isBlank()) {
            throw new Malformed("'" + where + "' is empty");
        }
        return valid(n.asText(), where);
    }

    /** CounterFact has one locality question per record, as two flat fields. */
    private static List<EvalItem> counterfactLocality(JsonNode r) throws Malformed {
        if (!present(r, "locality_prompt") && !present(r, "locality_ground_truth")) {
            return List.of();
        }
        return List.of(new EvalItem("Neighborhood", text(r, "locality_prompt"), answer(r, "locality_ground_truth")));
    }

    /** A portability or locality section: {TYPE: [{prompt, ground_truth}, ...], ...}; absent or null is empty. */
    private static List<EvalItem> items(JsonNode r, String section) throws Malformed {
        JsonNode s = r.get(section);
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (!s.isObject()) {
            throw new Malformed(section + ": expected an object of question lists, got " + kind(s));
        }
        List<EvalItem> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String where = section + "." + e.getKey();
            JsonNode list = e.getValue();
            if (list == null || list.isNull()) {
                continue;
            }
            if (!list.isArray()) {
                throw new Malformed(where + ": expected a list of {prompt, ground_truth}, got " + kind(list));
            }
            for (int i = 0; i < list.size(); i++) {
                JsonNode item = list.get(i);
                String at = where + "[" + i + "]";
                if (!item.isObject()) {
                    throw new Malformed(at + ": expected {prompt, ground_truth}, got " + kind(item));
                }
                out.add(new EvalItem(e.getKey(), text(item, "prompt", at), answer(item, "ground_truth", at)));
            }
        }
        return out;
    }

    private static boolean present(JsonNode r, String field) {
        return r.has(field) && !r.get(field).isNull();
    }

    private static String text(JsonNode r, String field) throws Malformed {
        return text(r, field, null);
    }

    private static String text(JsonNode r, String field, String where) throws Malformed {
        String name = where == null ? field : where + "." + field;
        JsonNode n = r.get(field);
        if (n == null || n.isNull()) {
            throw new Malformed("missing '" + name + "'");
        }
        if (!n.isTextual()) {
            throw new Malformed("'" + name + "' must be a string, got " + kind(n));
        }
        if (n.asText().isBlank()) {
            throw new Malformed("'" + name + "' is empty");
        }
        return valid(n.asText().strip(), name);
    }

    /**
     * An optional text field: absent, empty or not a string is no value; text that is not valid Unicode makes the
     * record malformed, as it would be garbled for the model and cannot be written to the report.
     */
    private static String optionalText(JsonNode r, String field) throws Malformed {
        JsonNode n = r.get(field);
        return n != null && n.isTextual() && !n.asText().isBlank() ? valid(n.asText().strip(), field) : null;
    }

    private static String valid(String text, String name) throws Malformed {
        String problem = Unicode.problem(text, "'" + name + "'");
        if (problem != null) {
            throw new Malformed(problem);
        }
        return text;
    }

    private static String answer(JsonNode r, String field) throws Malformed {
        return answer(r, field, null);
    }

    /**
     * An answer: a string, or a list of aliases (the first is used), or a list of alias lists (the first alias of the
     * first list).
     */
    private static String answer(JsonNode r, String field, String where) throws Malformed {
        String name = where == null ? field : where + "." + field;
        JsonNode n = r.get(field);
        if (n == null || n.isNull()) {
            throw new Malformed("missing '" + name + "'");
        }
        while (n.isArray()) {
            if (n.isEmpty()) {
                throw new Malformed("'" + name + "' has an empty alias list");
            }
            n = n.get(0);
        }
        if (n.isNumber() || n.isBoolean()) {
            return n.asText();
        }
        if (!n.isTextual()) {
            throw new Malformed("'" + name + "' must be a string or a list of aliases, got " + kind(n));
        }
        if (n.asText().isBlank()) {
            throw new Malformed("'" + name + "' is empty");
        }
        return valid(n.asText().strip(), name);
    }

    private static String optionalAnswer(JsonNode r, String field) {
        try {
            return present(r, field) ? answer(r, field) : null;
        } catch (Malformed e) {
            return null; // not used by any metric, so a bad one does not cost the record
        }
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
