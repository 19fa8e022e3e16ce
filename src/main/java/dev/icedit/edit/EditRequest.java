package dev.icedit.edit;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.model.tokenizer.Unicode;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * One fact to write into the model: after the edit, {@code prompt} should continue with {@code target}. The subject
 * (the entity the fact is about) is needed by locate-then-edit methods; the context sentences are what ICE puts in
 * the model's context (when none are given it states the fact itself).
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record EditRequest(String prompt, String target, String subject, List<String> context) {
    public EditRequest {
        if (prompt == null || prompt.isBlank()) {
            throw new IceditException("edit request has an empty prompt");
        }
        Unicode.requireValid(prompt, "the prompt of an edit request");
        if (target == null || target.isBlank()) {
            throw new IceditException("edit request for '" + prompt + "' has an empty target");
        }
        target = Unicode.requireValid(target.strip(), "the target of the edit request for '" + prompt + "'");
        for (String c : context == null ? List.<String>of() : context) {
            if (c == null || c.isBlank()) {
                throw new IceditException("edit request for '" + prompt + "' has an empty context sentence");
            }
            Unicode.requireValid(c, "a context sentence of the edit request for '" + prompt + "'");
        }
        context = context == null ? List.of() : List.copyOf(context);
        if (subject != null && subject.isBlank()) {
            subject = null;
        }
        Unicode.requireValid(subject, "the subject of the edit request for '" + prompt + "'");
    }

    public static EditRequest of(String prompt, String target) {
        return new EditRequest(prompt, target, null, List.of());
    }

    /** The sentence stating the fact, "PROMPT TARGET.": the context of a request that brings no sentences of its own. */
    public String statedFact() {
        return prompt + " " + target + ".";
    }

    /** The request's context sentences, else the one sentence stating the fact. */
    public List<String> contextOrStatedFact() {
        return context.isEmpty() ? List.of(statedFact()) : context;
    }

    /**
     * The prompt's tokens and the target's after them, as every method trains and scores them
     * ({@link Tokenizer#answer}: the joint encoding of prompt and target, cut after the prompt's tokens).
     */
    public Tokenizer.Continuation tokens(Tokenizer tok) {
        Tokenizer.Continuation c = tok.answer(prompt, target);
        if (c.tokens().length == 0) {
            throw new IceditException("target '" + target + "' has no tokens of its own after the prompt '" + prompt
                    + "' (the tokenizer merges it into the prompt's last token)");
        }
        return c;
    }
}
