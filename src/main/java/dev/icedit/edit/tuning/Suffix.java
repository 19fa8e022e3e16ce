package dev.icedit.edit.tuning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.model.Hooks;
import dev.icedit.tensor.HostArrays;
import dev.icedit.model.KvCache;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import java.util.List;

/**
 * Teacher-forced passes over left-padded rows, read at their ends: with left padding every row ends in the last
 * column, so the distributions predicting each row's last tokens sit in the last columns of the batch.
 */
public final class Suffix {
    private Suffix() {}

    /**
     * Log-probabilities of the next token at the last {@code k} columns (B, k, V), from one pass; gradients flow
     * when the weights carry them. Only those columns go through the output projection.
     */
    public static NDArray logProbs(LanguageModel model, Weights w, List<long[]> rows, int k, KvCache cache) {
        return logProbs(model, w, rows, k, cache, null);
    }

    /** As {@link #logProbs(LanguageModel, Weights, List, int, KvCache)}, resuming from or filling {@code prefix}. */
    public static NDArray logProbs(LanguageModel model, Weights w, List<long[]> rows, int k, KvCache cache,
            dev.icedit.model.FrozenPrefix prefix) {
        TokenBatch batch = TokenBatch.leftPadded(rows, model.tokenizer().padTokenId());
        NDArray hidden = model.hidden(w, batch, cache, Hooks.NONE, prefix); // (B, T, C)
        int t = batch.length();
        NDArray tail = hidden.get(":, " + (t - k) + ":, :"); // (B, k, C)
        NDArray logits = model.logits(w, tail); // (B, k, V)
        if (logits.getDataType() != DataType.FLOAT32) {
            logits = logits.toType(DataType.FLOAT32, false);
        }
        return logits.logSoftmax(-1); // (B, k, V)
    }

    /**
     * Token ids (B, k) and a 0/1 mask (B, k) that place each row's tokens at the end of k columns: row b's tokens
     * occupy its last {@code tokens[b].length} columns; masked columns hold token 0.
     */
    public static NDArray[] rightAligned(NDManager manager, List<long[]> tokens, int k) {
        long[] ids = new long[tokens.size() * k];
        float[] mask = new float[tokens.size() * k];
        for (int b = 0; b < tokens.size(); b++) {
            long[] tk = tokens.get(b);
            for (int i = 0; i < tk.length; i++) {
                int col = k - tk.length + i;
                ids[b * k + col] = tk[i];
                mask[b * k + col] = 1f;
            }
        }
        return new NDArray[] {
            HostArrays.of(manager, ids, new Shape(tokens.size(), k)), // (B, k)
            HostArrays.of(manager, mask, new Shape(tokens.size(), k)) // (B, k)
        };
    }

    /** log p of the given tokens: gathers (B, k, V) log-probabilities at ids (B, k), giving (B, k). */
    public static NDArray pick(NDArray logProbs, NDArray ids) {
        return logProbs.gather(ids.expandDims(-1), -1).squeeze(-1);
    }

    public static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) {
            n += p.length;
        }
        long[] out = new long[n];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
