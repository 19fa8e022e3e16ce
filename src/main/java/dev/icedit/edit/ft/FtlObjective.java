package dev.icedit.edit.ft;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.tuning.Objective;
import dev.icedit.edit.tuning.Suffix;
import dev.icedit.model.FrozenPrefix;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * FT-L as originally defined: every target token's log-probability is read from the single distribution at the
 * last prompt position (no teacher forcing); the loss is the mean over target tokens, then over requests. A
 * target of several tokens can therefore not become the greedy continuation beyond its first token.
 */
public final class FtlObjective implements Objective {
    private final PrefixCache below;

    /** @param firstLayer the lowest layer whose MLP output projection is trained: what is below it never changes */
    public FtlObjective(int firstLayer) {
        this.below = new PrefixCache(firstLayer);
    }

    @Override
    public NDArray loss(LanguageModel model, Weights trainable, Weights frozen, List<EditRequest> batch, int step,
            SplittableRandom random) {
        TargetTokens t = TargetTokens.of(model.tokenizer(), batch);
        return loss(model, trainable, t.prompts(), t.targets(), below.of(batch));
    }

    @Override
    public void close() {
        below.close();
    }

    /** The FT-L loss for token ids. */
    public static NDArray loss(LanguageModel model, Weights w, List<long[]> prompts, List<long[]> targets) {
        return loss(model, w, prompts, targets, null);
    }

    static NDArray loss(LanguageModel model, Weights w, List<long[]> prompts, List<long[]> targets,
            FrozenPrefix prefix) {
        int k = targets.stream().mapToInt(t -> t.length).max().orElse(0);
        NDArray last = Suffix.logProbs(model, w, prompts, 1, null, prefix); // (B, 1, V)
        NDArray[] ids = Suffix.rightAligned(last.getManager(), targets, k); // (B, K) ids and mask
        NDArray logp = last.gather(ids[0].expandDims(1), 2).squeeze(1); // (B, K)
        NDArray nll = logp.mul(ids[1]).sum(new int[] {1}).neg(); // (B)
        return nll.div(ids[1].sum(new int[] {1})).mean();
    }
}
