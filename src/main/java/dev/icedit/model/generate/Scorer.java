package dev.icedit.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * Teacher-forced scoring: for a prompt and a continuation, one pass over both gives, at each continuation token,
 * its log-probability and the model's argmax there.
 */
public final class Scorer {
    private Scorer() {}

    /** Per-token results of scoring one continuation. */
    public record Scored(double[] logProbs, long[] argmax, long[] tokens) {
        public double sum() {
            double s = 0;
            for (double d : logProbs) {
                s += d;
            }
            return s;
        }

        /** Fraction of continuation tokens that are the argmax of the model's distribution. */
        public double tokenAccuracy() {
            if (tokens.length == 0) {
                return 0;
            }
            int hit = 0;
            for (int i = 0; i < tokens.length; i++) {
                if (argmax[i] == tokens[i]) {
                    hit++;
                }
            }
            return (double) hit / tokens.length;
        }
    }

    /** A prompt and a continuation, as token ids. */
    public record Pair(long[] prompt, long[] continuation) {}

    public static Scored score(LanguageModel model, long[] prompt, long[] continuation) {
        return score(model, List.of(new Pair(prompt, continuation))).get(0);
    }

    /** Scores pairs in one batch (left-padded) under the current weights. */
    public static List<Scored> score(LanguageModel model, List<Pair> pairs) {
        try (LanguageModel.Lease lease = model.lease()) {
            return score(model, lease.weights(), pairs);
        }
    }

    /** As {@link #score(LanguageModel, List)} with given weights (the caller holds a lease). */
    public static List<Scored> score(LanguageModel model, Weights w, List<Pair> pairs) {
        List<long[]> rows = new ArrayList<>();
        for (Pair p : pairs) {
            if (p.prompt().length == 0) {
                throw new dev.icedit.tensor.IceditException("cannot score a continuation of an empty prompt");
            }
            long[] row = new long[p.prompt().length + p.continuation().length];
            System.arraycopy(p.prompt(), 0, row, 0, p.prompt().length);
            System.arraycopy(p.continuation(), 0, row, p.prompt().length, p.continuation().length);
            rows.add(row);
        }
        long pad = 0;
        TokenBatch batch = TokenBatch.leftPadded(rows, pad);
        List<Scored> out = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            NDArray hidden = model.hidden(w, batch, null, Hooks.NONE); // (B, T, C)
            NDArray logp = model.logits(w, hidden).toType(DataType.FLOAT32, false).logSoftmax(-1); // (B, T, V)
            NDArray best = logp.argMax(-1); // (B, T)
            int t = batch.length();
            int v = (int) logp.getShape().get(2);
            long[] bestFlat = best.toLongArray();
            for (int b = 0; b < pairs.size(); b++) {
                Pair p = pairs.get(b);
                int n = p.continuation().length;
                double[] lp = new double[n];
                long[] am = new long[n];
                if (n > 0) {
                    int first = batch.padding(b) + p.prompt().length - 1; // position predicting the first token
                    NDArray rowLogp = logp.get(b + ", " + first + ":" + (first + n) + ", :"); // (n, V)
                    float[] flat = rowLogp.toFloatArray();
                    for (int i = 0; i < n; i++) {
                        lp[i] = flat[i * v + (int) p.continuation()[i]];
                        am[i] = bestFlat[b * t + first + i];
                    }
                }
                out.add(new Scored(lp, am, p.continuation().clone()));
            }
        }
        return out;
    }
}
