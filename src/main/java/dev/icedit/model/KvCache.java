package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Arrays;

/**
 * Keys and values of the tokens seen so far, per layer (B, H_kv, S, D), and their padding mask (B, S). The forward
 * pass appends to it; its arrays outlive each pass and are freed by {@link #close}.
 */
public final class KvCache implements AutoCloseable {
    private final NDArray[] keys;
    private final NDArray[] values;
    private int[][] mask = new int[0][0];

    public KvCache(int layers) {
        keys = new NDArray[layers];
        values = new NDArray[layers];
    }

    /** Number of cached positions (S). */
    public int length() {
        return mask.length == 0 ? 0 : mask[0].length;
    }

    int[][] mask() {
        return mask;
    }

    /** The mask of cached positions followed by the new tokens' mask; becomes the cache's mask. */
    int[][] extendMask(int[][] newMask) {
        if (mask.length == 0) {
            mask = Arrays.stream(newMask).map(int[]::clone).toArray(int[][]::new);
            return mask;
        }
        if (newMask.length != mask.length) {
            throw new IllegalArgumentException("batch of " + newMask.length + " rows for a cache of " + mask.length);
        }
        int[][] m = new int[mask.length][];
        for (int b = 0; b < mask.length; b++) {
            m[b] = Arrays.copyOf(mask[b], mask[b].length + newMask[b].length);
            System.arraycopy(newMask[b], 0, m[b], mask[b].length, newMask[b].length);
        }
        mask = m;
        return mask;
    }

    /** Appends this step's keys and values (B, H_kv, T, D) for a layer and returns the whole (B, H_kv, S, D). */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        NDArray fullK = keys[layer] == null ? k : keys[layer].concat(k, 2);
        NDArray fullV = values[layer] == null ? v : values[layer].concat(v, 2);
        NDScope.unregister(fullK, fullV);
        if (keys[layer] != null) {
            keys[layer].close();
            values[layer].close();
        }
        keys[layer] = fullK;
        values[layer] = fullV;
        return new NDArray[] {fullK, fullV};
    }

    /** Drops the autograd history of the cached keys and values, so later steps do not extend the graph. */
    public void detach() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                NDArray k = keys[i].stopGradient();
                NDArray v = values[i].stopGradient();
                NDScope.unregister(k, v);
                keys[i].close();
                values[i].close();
                keys[i] = k;
                values[i] = v;
            }
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].close();
                values[i].close();
                keys[i] = null;
                values[i] = null;
            }
        }
    }
}
