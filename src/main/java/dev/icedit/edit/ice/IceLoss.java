package dev.icedit.edit.ice;

import ai.djl.ndarray.NDArray;
import dev.icedit.edit.tuning.Suffix;

/**
 * The In-Context Editing loss (Qi et al., "In-Context Editing: Learning Knowledge from Self-Induced
 * Distributions", ICLR 2025).
 *
 * <p>For a query q, the new target x*, a continuation y sampled from the model and a context c that states the new
 * fact, let p_theta be the model's next-token distribution with c in its context and q_theta the one without:
 *
 * <pre>
 *   L(theta) = sum over tokens t of x*:  - log p_theta(x*_t | c, q, x*_&lt;t) - log q_theta(x*_t | q, x*_&lt;t)
 *            + sum over tokens t of y (before an EOS):  KL( p_theta(. | c, q, x*, y_&lt;t) || q_theta(. | q, x*, y_&lt;t) )
 * </pre>
 *
 * The target terms make x* likely with and without the context; the KL terms pull the context-free distribution
 * towards what the model itself would say with the fact in context. Inside the KL, p is held fixed (no gradient
 * flows through it). Losses are summed over positions and averaged over the batch.
 *
 * <p>Shapes: B rows, K positions (the tokens of x* then of y, right-aligned per row), V vocabulary.
 */
public final class IceLoss {
    private IceLoss() {}

    /** The loss and its parts, per row (B). */
    public record Terms(NDArray targetWithContext, NDArray targetWithoutContext, NDArray kl, NDArray perRow) {
        /** The batch loss: the mean over rows. */
        public NDArray mean() {
            return perRow.mean();
        }
    }

    /**
     * @param logP log p_theta at the K positions (B, K, V): the distributions predicting each token, with context
     * @param logQ log q_theta at the same positions (B, K, V), without context
     * @param tokens the tokens being predicted (B, K): x* then y
     * @param targetMask 1 where the token belongs to x* (B, K)
     * @param completionMask 1 where the token belongs to y and comes before any EOS (B, K)
     */
    public static Terms compute(NDArray logP, NDArray logQ, NDArray tokens, NDArray targetMask, NDArray completionMask) {
        NDArray targetWithContext = Suffix.pick(logP, tokens).mul(targetMask).sum(new int[] {1}).neg(); // (B)
        NDArray targetWithoutContext = Suffix.pick(logQ, tokens).mul(targetMask).sum(new int[] {1}).neg(); // (B)
        NDArray fixedLogP = logP.stopGradient(); // (B, K, V): p is a fixed target inside the KL
        NDArray klPerPosition = fixedLogP.exp().mul(fixedLogP.sub(logQ)).sum(new int[] {2}); // (B, K)
        NDArray kl = klPerPosition.mul(completionMask).sum(new int[] {1}); // (B)
        NDArray perRow = targetWithContext.add(targetWithoutContext).add(kl); // (B)
        return new Terms(targetWithContext, targetWithoutContext, kl, perRow);
    }
}
