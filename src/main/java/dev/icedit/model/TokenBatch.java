package dev.icedit.model;

import java.util.List;

/**
 * Rows of token ids of different lengths, left-padded to one length, with the padding mask. Row r's i-th real
 * token sits at column {@code padding(r) + i}.
 */
public final class TokenBatch {
    private final long[][] ids;
    private final int[][] mask;
    private final int[] padding;

    private TokenBatch(long[][] ids, int[][] mask, int[] padding) {
        this.ids = ids;
        this.mask = mask;
        this.padding = padding;
    }

    public static TokenBatch of(long[] row) {
        return leftPadded(List.of(row), 0);
    }

    public static TokenBatch leftPadded(List<long[]> rows, long padId) {
        int width = 0;
        for (long[] r : rows) {
            width = Math.max(width, r.length);
        }
        long[][] ids = new long[rows.size()][width];
        int[][] mask = new int[rows.size()][width];
        int[] padding = new int[rows.size()];
        for (int b = 0; b < rows.size(); b++) {
            long[] r = rows.get(b);
            int pad = width - r.length;
            padding[b] = pad;
            for (int t = 0; t < width; t++) {
                ids[b][t] = t < pad ? padId : r[t - pad];
                mask[b][t] = t < pad ? 0 : 1;
            }
        }
        return new TokenBatch(ids, mask, padding);
    }

    /** One new token per row (a decoding step); every row's token is real. */
    public static TokenBatch column(long[] tokens) {
        long[][] ids = new long[tokens.length][1];
        int[][] mask = new int[tokens.length][1];
        for (int b = 0; b < tokens.length; b++) {
            ids[b][0] = tokens[b];
            mask[b][0] = 1;
        }
        return new TokenBatch(ids, mask, new int[tokens.length]);
    }

    public int rows() {
        return ids.length;
    }

    public int length() {
        return ids.length == 0 ? 0 : ids[0].length;
    }

    public int padding(int row) {
        return padding[row];
    }

    /** Real (unpadded) length of a row. */
    public int realLength(int row) {
        return length() - padding[row];
    }

    long[][] ids() {
        return ids;
    }

    int[][] mask() {
        return mask;
    }

    public long[] flatIds() {
        long[] flat = new long[rows() * length()];
        for (int b = 0; b < rows(); b++) {
            System.arraycopy(ids[b], 0, flat, b * length(), length());
        }
        return flat;
    }
}
