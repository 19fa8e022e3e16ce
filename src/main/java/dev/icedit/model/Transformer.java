package dev.icedit.model;

import ai.djl.ndarray.NDArray;

/** One architecture's forward pass. Implementations hold no weights: every pass reads them from a {@link Weights}. */
interface Transformer {
    /**
     * Runs the layers over new tokens and returns the final hidden states after the last norm (B, T, C).
     *
     * @param ids new tokens (B, T), int64
     * @param ctx positions and attention mask for these tokens
     * @param cache keys and values of earlier tokens, appended to; may be null
     * @param prefix activations kept from an earlier pass over the same tokens to start from, or to fill; may be null
     */
    NDArray hidden(Weights w, NDArray ids, AttentionContext ctx, KvCache cache, Hooks hooks, FrozenPrefix prefix);

    /** Next-token logits from final hidden states: (B, T, C) to (B, T, V). */
    NDArray logits(Weights w, NDArray hidden);
}
