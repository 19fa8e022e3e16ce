package dev.icedit.model.generate;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Picks the next token from one row of logits, on the host, so results do not depend on the device. */
public final class TokenSampler {
    private final GenerationOptions options;
    private final SplittableRandom random;

    public TokenSampler(GenerationOptions options) {
        this.options = options;
        this.random = new SplittableRandom(options.seed());
    }

    /** Chooses a token; none of {@code banned} (EOS ids, say) can be chosen. */
    public long next(float[] logits, java.util.Collection<Long> banned) {
        if (options.isGreedy()) {
            ban(logits, banned);
            return argmax(logits);
        }
        if (options.topP() >= 1 && options.topK() > 0 && options.topK() < logits.length) {
            return nextTopK(logits, banned);
        }
        return draw(probabilities(logits, banned, options.temperature(), options.topK(), options.topP()));
    }

    /** The first token at which the running sum of {@code p} passes a uniform draw (the last possible one if none). */
    private long draw(double[] p) {
        double u = random.nextDouble();
        double acc = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                acc += p[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last;
    }

    /**
     * The draw of {@link #next} under top-k alone, without sorting the vocabulary: the k-th largest scaled logit
     * (ties counted, as in the sorted array {@link #probabilities} reads) is found with a k-entry buffer, and only
     * the tokens at or above it are exponentiated. The kept tokens are visited in index order and the others'
     * probabilities are exact zeros there, so the sums, the probabilities and the token drawn are those of
     * {@link #probabilities} bit for bit.
     */
    private long nextTopK(float[] logits, java.util.Collection<Long> banned) {
        ban(logits, banned);
        double temperature = options.temperature();
        int k = options.topK();
        double[] top = new double[k]; // the k largest scaled logits so far (ties counted), ascending
        Arrays.fill(top, Double.NEGATIVE_INFINITY);
        for (float logit : logits) {
            double x = logit / temperature;
            if (Double.isNaN(x)) {
                return draw(probabilities(logits, List.of(), temperature, k, 1)); // sorting places NaN: as it does
            }
            if (x > top[0]) {
                int j = 0;
                while (j + 1 < k && top[j + 1] < x) {
                    top[j] = top[j + 1];
                    j++;
                }
                top[j] = x;
            }
        }
        double kth = top[0];
        int v = logits.length;
        int[] kept = new int[v];
        int n = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            double x = logits[i] / temperature;
            if (!(x < kth)) {
                kept[n++] = i;
                max = Math.max(max, x);
            }
        }
        double[] p = new double[n];
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double x = logits[kept[j]] / temperature;
            p[j] = x == Double.NEGATIVE_INFINITY ? 0 : Math.exp(x - max);
            sum += p[j];
        }
        double u = random.nextDouble();
        double acc = 0;
        int last = 0;
        for (int j = 0; j < n; j++) {
            double pj = p[j] / sum;
            if (pj > 0) {
                acc += pj;
                last = kept[j];
                if (u < acc) {
                    return kept[j];
                }
            }
        }
        return last;
    }

    /**
     * The distribution a token is sampled from, in transformers' order of logits processors: banned ids removed
     * (as min_new_tokens removes EOS), logits divided by the temperature, then top-k (0 = off: the k largest are
     * kept, ties with the k-th included), then top-p (1 = off: the smallest set of the most likely tokens whose
     * probabilities sum to at least {@code topP}, always at least one), renormalised. {@code logits} is changed
     * (banned ids set to -inf).
     */
    public static double[] probabilities(float[] logits, java.util.Collection<Long> banned, double temperature,
            int topK, double topP) {
        ban(logits, banned);
        int v = logits.length;
        double[] scaled = new double[v];
        for (int i = 0; i < v; i++) {
            scaled[i] = logits[i] / temperature;
        }
        if (topK > 0 && topK < v) {
            double[] sorted = scaled.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - topK];
            for (int i = 0; i < v; i++) {
                if (scaled[i] < kth) {
                    scaled[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double[] p = softmax(scaled);
        if (topP < 1) {
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            double cum = 0;
            boolean cut = false;
            for (int r = 0; r < v; r++) {
                int i = order[r];
                if (cut) {
                    p[i] = 0;
                } else {
                    cum += p[i];
                    cut = cum >= topP;
                }
            }
            double total = 0;
            for (double x : p) {
                total += x;
            }
            for (int i = 0; i < v; i++) {
                p[i] /= total;
            }
        }
        return p;
    }

    private static void ban(float[] logits, java.util.Collection<Long> banned) {
        for (long b : banned) {
            if (b >= 0 && b < logits.length) {
                logits[(int) b] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    public static long argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static double[] softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double d : x) {
            max = Math.max(max, d);
        }
        double[] p = new double[x.length];
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            p[i] = x[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(x[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < x.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
