package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Arrays;

/**
 * One batch's activations up to a point in one layer's MLP, kept from the first forward pass that is given this
 * object and reused by the later ones over the same tokens, which start at that point instead of the embeddings.
 * For loops whose weights or hooks change only from there on: {@link #atMlpOutput} for ROME's and MEMIT's target
 * vector, which a hook adds to the MLP output of its layer; {@link #atMlpInput} for fine-tuning the MLP output
 * projections (ICE, FT-M, FT-L), whose lowest trained projection is recomputed from its kept input with the
 * current weights. The layers below would otherwise compute the same values at every step. A resumed pass runs the
 * same operations on the same values from there on, so its output is identical; the hooks at earlier sites are not
 * run again, and no gradient flows into the kept values. Shapes: B rows, T positions, C hidden size, I MLP size.
 */
public final class FrozenPrefix implements AutoCloseable {
    private final int layer;
    private final boolean input;
    private long[] tokens;
    private NDArray residual;
    private NDArray kept;

    private FrozenPrefix(int layer, boolean input) {
        this.layer = layer;
        this.input = input;
    }

    /** Later passes start from the layer's MLP output, before its hooks. */
    public static FrozenPrefix atMlpOutput(int layer) {
        return new FrozenPrefix(layer, false);
    }

    /** Later passes start from the input of the layer's MLP output projection, after its hooks. */
    public static FrozenPrefix atMlpInput(int layer) {
        return new FrozenPrefix(layer, true);
    }

    public int layer() {
        return layer;
    }

    boolean ready() {
        return residual != null;
    }

    /** Whether the kept value is the MLP output projection's input (else the MLP output). */
    boolean keepsInput() {
        return input;
    }

    /** The residual stream after the layer's attention (B, T, C). */
    NDArray residual() {
        return residual;
    }

    /** The input of the layer's MLP output projection (B, T, I), or the MLP output (B, T, C). */
    NDArray kept() {
        return kept;
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

    /** Keeps the residual after attention and the MLP's output-projection input and output, as this object says. */
    void keep(NDArray residualAfterAttention, NDArray projectionInput, NDArray mlpOutput) {
        residual = residualAfterAttention.stopGradient();
        kept = (input ? projectionInput : mlpOutput).stopGradient();
        NDScope.unregister(residual, kept);
    }

    @Override
    public void close() {
        if (residual != null) {
            residual.close();
            kept.close();
            residual = null;
            kept = null;
        }
    }
}
