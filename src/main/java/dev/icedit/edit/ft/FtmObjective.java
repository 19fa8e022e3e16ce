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
 * FT-M: the mean negative log-likelihood of the target given the prompt, teacher forced and masked to the target's
 * tokens; the mean over requests.
 */
public final class FtmObjective implements Objective {
    private final PrefixCache below;

    /** @param firstLayer the lowest layer whose MLP output projection is trained: what is below it never changes */
    public FtmObjective(int firstLayer) {
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

    /** The FT-M loss for token ids: mean over rows of the mean NLL of the target tokens. */
    public static NDArray loss(LanguageModel model, Weights w, List<long[]> prompts, List<long[]> targets) {
        return loss(model, w, prompts, targets, null);
    }

    static NDArray loss(LanguageModel model, Weights w, List<long[]> prompts, List<long[]> targets,
            FrozenPrefix prefix) {
        int k = targets.stream().mapToInt(t -> t.length).max().orElse(0);
        List<long[]> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            long[] t = targets.get(i);
            rows.add(Suffix.concat(prompts.get(i), java.util.Arrays.copyOf(t, t.length - 1)));
        }
        NDArray logp = Suffix.logProbs(model, w, rows, k, null, prefix); // (B, K, V)
        NDArray[] ids = Suffix.rightAligned(logp.getManager(), targets, k); // (B, K) ids and mask
        NDArray nll = Suffix.pick(logp, ids[0]).mul(ids[1]).sum(new int[] {1}).neg(); // (B)
        return nll.div(ids[1].sum(new int[] {1})).mean();
    }
}
