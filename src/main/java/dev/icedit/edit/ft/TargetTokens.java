package dev.icedit.edit.ft;

import dev.icedit.edit.EditRequest;
import dev.icedit.model.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Each request's prompt ids (with BOS) and target ids (" " + target, no specials), as both baselines score them (and
 * the tuning loop reads the keys at which an edit wrote its target).
 */
public record TargetTokens(List<long[]> prompts, List<long[]> targets) {
    public static TargetTokens of(Tokenizer tok, List<EditRequest> batch) {
        List<long[]> prompts = new ArrayList<>();
        List<long[]> targets = new ArrayList<>();
        for (EditRequest r : batch) {
            prompts.add(tok.encode(r.prompt()));
            targets.add(tok.encodePlain(r.spacedTarget()));
        }
        return new TargetTokens(prompts, targets);
    }
}
