package dev.icedit.edit.ft;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Each request's prompt ids (as the model reads the prompt) and target ids (the target's tokens after the prompt in
 * their joint encoding, {@link EditRequest#tokens}), as both baselines score them (and the tuning loop reads the
 * keys at which an edit wrote its target).
 */
public record TargetTokens(List<long[]> prompts, List<long[]> targets) {
    public static TargetTokens of(Tokenizer tok, List<EditRequest> batch) {
        List<long[]> prompts = new ArrayList<>();
        List<long[]> targets = new ArrayList<>();
        for (EditRequest r : batch) {
            Tokenizer.Continuation c = r.tokens(tok);
            prompts.add(c.prompt());
            targets.add(c.tokens());
        }
        return new TargetTokens(prompts, targets);
    }
}
