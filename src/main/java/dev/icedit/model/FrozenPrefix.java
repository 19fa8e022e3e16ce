package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Arrays;

/**
 * One batch's activations up to a layer's MLP output, kept from the first forward pass that is given this object
 * and reused by the later ones over the same tokens: those start at that layer's MLP output instead of the
 * embeddings. For loops whose weights (or hooks) change only from that point on, such as ROME's and MEMIT's
 * target vector, which a hook adds to the MLP output of its layer: the layers below it would otherwise compute the
 * same values at every step. A resumed pass runs the same operations on the same values from there on, so its
 * output is identical; the hooks at earlier sites are not run again, and any gradient stops at the kept values.
 * Shapes: B rows, T positions, C hidden size.
 */
public final class FrozenPrefix implements AutoCloseable {
    private final int layer;
    private long[] tokens;
    private NDArray residual;
    private NDArray mlpOut;

    /** @param layer the layer whose MLP output (before its hooks) the later passes start from */
    public FrozenPrefix(int layer) {
        this.layer = layer;
    }

    public int layer() {
        return layer;
    }

    boolean ready() {
        return residual != null;
    }

    /** The residual stream after the layer's attention (B, T, C). */
    NDArray residual() {
        return residual;
    }

    /** The layer's MLP output before its hooks (B, T, C). */
    NDArray mlpOut() {
        return mlpOut;
    }

    /** Refuses a batch other than the one the values were kept for. */
    void check(TokenBatch batch) {
        long[] ids = batch.flatIds();
        if (tokens == null) {
            tokens = ids;
        } else if (!Arrays.equals(tokens, ids)) {
            throw new IllegalStateException("a FrozenPrefix serves one batch; this pass has other tokens");
        }
    }

    void keep(NDArray residualAfterAttention, NDArray mlp) {
        residual = residualAfterAttention.stopGradient();
        mlpOut = mlp.stopGradient();
        NDScope.unregister(residual, mlpOut);
    }

    @Override
    public void close() {
        if (residual != null) {
            residual.close();
            mlpOut.close();
            residual = null;
            mlpOut = null;
        }
    }
}
