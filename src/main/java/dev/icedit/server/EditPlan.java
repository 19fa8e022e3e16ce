package dev.icedit.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.edit.EditGuard;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.Editor;
import dev.icedit.edit.Editors;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.Presets;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.model.tokenizer.Unicode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * An edit as a client asked for it, checked and resolved before it is queued: the method and its editor, the
 * facts, and the prompts measured before and after (rephrases of the first fact, unrelated prompts). Unrelated
 * prompts that are about the edit (its prompts, rephrases, context) are left out, as the guard leaves them out
 * ({@link EditGuard#unrelated}), and listed in {@code unrelatedLeftOut}.
 */
record EditPlan(String method, Map<String, Object> hyperParameters, Editor editor, List<EditRequest> requests,
        List<String> rephrases, List<String> unrelated, List<String> unrelatedLeftOut) {

    /** The JSON body of {@code POST /api/edits}: either {@code requests} or one fact's fields. */
    record Body(String method, JsonNode hparams, Long seed, List<EditRequest> requests, String prompt, String target,
            String subject, List<String> context, List<String> rephrases, List<String> unrelated) {}

    /** Unrelated prompts measured when the client names none. */
    static final List<String> DEFAULT_UNRELATED = EditGuard.DEFAULT_PROMPTS.subList(1, 4);
    private static final Pattern PRESET_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    static EditPlan of(Body b, ModelConfig config, Limits limits) {
        List<EditRequest> requests = requests(b, limits);
        List<String> rephrases = prompts("rephrases", b.rephrases(), List.of(), limits);
        List<String> asked = prompts("unrelated", b.unrelated(), DEFAULT_UNRELATED, limits);
        List<String> unrelated = EditGuard.unrelated(asked, requests, rephrases);
        List<String> leftOut = asked.stream().filter(p -> !unrelated.contains(p)).toList();
        String method = b.method() == null ? "ICE" : b.method();
        Editors.Method<?> m = Editors.method(method);
        Object hp = hyperParams(m, b.hparams(), config);
        if (b.seed() != null) {
            hp = m.reseed(hp, b.seed());
        }
        Map<String, Object> hpMap = HyperParams.asMap(hp);
        if (hpMap.get("num_steps") instanceof Number n && n.longValue() > limits.maxEditSteps()) {
            throw ApiError.badRequest("hparams: num_steps is " + n + "; this server allows at most "
                    + limits.maxEditSteps());
        }
        Editor editor = m.create(hp);
        return new EditPlan(m.name(), hpMap, editor, requests, rephrases, unrelated, leftOut);
    }

    /** A preset name, an inline object checked like a YAML file, or (null) the preset for the model. */
    private static Object hyperParams(Editors.Method<?> m, JsonNode node, ModelConfig config) {
        if (node == null || node.isNull()) {
            return Presets.forModel(m.name(), config).hyperParams();
        }
        if (node.isTextual()) {
            String name = node.asText();
            if (!PRESET_NAME.matcher(name).matches() || name.contains("..")) {
                throw ApiError.badRequest("hparams: '" + WorkDir.printable(name) + "' is not a preset name");
            }
            return preset(m, name);
        }
        if (node.isObject()) {
            // paths on the server are the server's to choose: a request may not name a corpus to read or a folder
            // to write statistics into, beyond what the model's preset says
            Map<String, Object> preset = HyperParams.asMap(Presets.forModel(m.name(), config).hyperParams());
            for (String key : List.of("stats_dir", "mom2_dataset")) {
                if (node.has(key) && !node.get(key).isNull()
                        && !(node.get(key).isTextual() && node.get(key).asText().equals(preset.get(key)))) {
                    throw ApiError.badRequest("hparams: " + key + " names a path on the server and cannot be set"
                            + " through the API (leave it out to use the preset's)");
                }
            }
            return Json.convert(node, m.hparamsType(), "hparams");
        }
        throw ApiError.badRequest("hparams must be a preset name (string) or an object of hyper-parameters");
    }

    private static Object preset(Editors.Method<?> m, String name) {
        Object hp = HyperParams.preset(m.name(), name, m.hparamsType());
        if (hp == null) {
            throw ApiError.badRequest("no preset '" + name + "' for " + m.name() + " (shipped: "
                    + String.join(", ", presets(m.name())) + "); give 'hparams' as an object instead");
        }
        return hp;
    }

    /** The shipped presets a method has. */
    static List<String> presets(String method) {
        return Presets.shippedNames(method);
    }

    private static List<EditRequest> requests(Body b, Limits limits) {
        boolean single = b.prompt() != null || b.target() != null || b.subject() != null || b.context() != null;
        List<EditRequest> requests;
        if (b.requests() != null) {
            if (single) {
                throw ApiError.badRequest("give either 'requests' or 'prompt'/'target' (with optional 'subject',"
                        + " 'context'), not both");
            }
            requests = b.requests();
        } else {
            if (b.prompt() == null || b.target() == null) {
                throw ApiError.badRequest("'prompt' and 'target' are required (or 'requests', a list of them)");
            }
            requests = List.of(new EditRequest(b.prompt(), b.target(), b.subject(), b.context()));
        }
        if (requests.isEmpty() || requests.size() > limits.maxRequestsPerEdit()) {
            throw ApiError.badRequest("an edit needs between 1 and " + limits.maxRequestsPerEdit() + " requests, got "
                    + requests.size());
        }
        for (int i = 0; i < requests.size(); i++) {
            EditRequest r = requests.get(i);
            if (r == null) {
                throw ApiError.badRequest("requests[" + i + "] is null");
            }
            String where = requests.size() == 1 && b.requests() == null ? "" : "requests[" + i + "].";
            bounded(where + "prompt", r.prompt(), limits);
            bounded(where + "target", r.target(), limits);
            if (r.subject() != null) {
                bounded(where + "subject", r.subject(), limits);
            }
            if (r.context().size() > limits.maxContextSentences()) {
                throw ApiError.badRequest(where + "context has " + r.context().size() + " sentences; the limit is "
                        + limits.maxContextSentences());
            }
            for (String c : r.context()) {
                bounded(where + "context", c, limits);
            }
        }
        return requests;
    }

    private static List<String> prompts(String field, List<String> given, List<String> fallback, Limits limits) {
        if (given == null) {
            return fallback;
        }
        if (given.size() > limits.maxProbePrompts()) {
            throw ApiError.badRequest("'" + field + "' has " + given.size() + " prompts; the limit is "
                    + limits.maxProbePrompts());
        }
        List<String> out = new ArrayList<>();
        for (String p : given) {
            if (p == null || p.isBlank()) {
                throw ApiError.badRequest("'" + field + "' contains an empty prompt");
            }
            out.add(bounded(field, p, limits));
        }
        return out;
    }

    private static String bounded(String field, String value, Limits limits) {
        if (value.length() > limits.maxPromptChars()) {
            throw ApiError.badRequest("'" + field + "' is " + value.length() + " characters; the limit is "
                    + limits.maxPromptChars());
        }
        String problem = Unicode.problem(value, "'" + field + "'");
        if (problem != null) {
            throw ApiError.badRequest(problem);
        }
        return value;
    }
}
