package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.Map;

/**
 * What attention needs besides the tokens, built on the host for one forward step of T new tokens over S positions
 * (cached plus new): position ids (B, T) and additive masks (B, 1, T, S) that allow key j for query i when j is a
 * real token, j is not in i's future and, with a sliding window W, i - j < W. A model whose layers differ in their
 * window asks for one mask per window; each is made once per step.
 *
 * <p>Positions count real tokens only (left padding does not shift them), as transformers' generate() does; padded
 * query rows get position 1 and a fully masked row, whose outputs are never read.
 */
final class AttentionContext {
    final long[][] positions;
    private final NDManager manager;
    private final int[][] fullMask;
    private final int newTokens;
    private final DataType dtype;
    private final Map<Integer, NDArray> masks = new HashMap<>();

    private AttentionContext(NDManager manager, long[][] positions, int[][] fullMask, int newTokens, DataType dtype) {
        this.manager = manager;
        this.positions = positions;
        this.fullMask = fullMask;
        this.newTokens = newTokens;
        this.dtype = dtype;
    }

    static AttentionContext build(NDManager manager, int[][] fullMask, int newTokens, DataType dtype) {
        int batch = fullMask.length;
        int s = fullMask[0].length;
        int past = s - newTokens;
        long[][] positions = new long[batch][newTokens];
        for (int b = 0; b < batch; b++) {
            int real = 0;
            int[] m = fullMask[b];
            for (int j = 0; j < s; j++) {
                real += m[j];
                int t = j - past;
                if (t >= 0) {
                    positions[b][t] = m[j] == 1 ? real - 1 : 1;
                }
            }
        }
        return new AttentionContext(manager, positions, fullMask, newTokens, dtype);
    }

    /** The largest position id plus one over the batch: the sequence length transformers' rotary module sees. */
    int sequenceLength() {
        long max = 0;
        for (long[] row : positions) {
            for (long p : row) {
                max = Math.max(max, p);
            }
        }
        return (int) max + 1;
    }

    /** The additive mask (B, 1, T, S) for causal attention, within {@code window} tokens when it is not null. */
    NDArray mask(Integer window) {
        return masks.computeIfAbsent(window == null ? 0 : window, w -> makeMask(window));
    }

    private NDArray makeMask(Integer window) {
        int batch = fullMask.length;
        int s = fullMask[0].length;
        int past = s - newTokens;
        float negative = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        float[] mask = new float[batch * newTokens * s];
        for (int b = 0; b < batch; b++) {
            int[] m = fullMask[b];
            for (int t = 0; t < newTokens; t++) {
                int i = past + t;
                int row = (b * newTokens + t) * s;
                for (int j = 0; j < s; j++) {
                    boolean allowed = m[j] == 1 && j <= i && (window == null || i - j < window);
                    mask[row + j] = allowed ? 0f : negative;
                }
            }
        }
        NDArray maskArray = dev.icedit.tensor.HostArrays.of(manager, mask, new Shape(batch, 1, newTokens, s)); // (B, 1, T, S)
        if (dtype != DataType.FLOAT32) {
            maskArray = maskArray.toType(dtype, false);
        }
        return maskArray;
    }
}
