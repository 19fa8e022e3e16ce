package dev.icedit.eval.metrics;

/**
 * The per-case metrics on tokens, as percentages: token accuracy (how many answer tokens are the model's argmax), the
 * agreement of two argmax sequences (locality), exact match of a greedy continuation, and the perplexity ratio PPL_r.
 */
public final class TokenMetrics {
    private TokenMetrics() {}

    /** 100 * the fraction of positions where the predicted token is the answer's token. */
    public static double tokenAccuracy(long[] argmax, long[] answer) {
        return agreement(argmax, answer);
    }

    /** 100 * the fraction of positions where the two sequences hold the same token (they have the same length). */
    public static double agreement(long[] before, long[] after) {
        if (before.length != after.length) {
            throw new IllegalArgumentException("sequences of different lengths: " + before.length + " and " + after.length);
        }
        if (before.length == 0) {
            return 0;
        }
        int same = 0;
        for (int i = 0; i < before.length; i++) {
            if (before[i] == after[i]) {
                same++;
            }
        }
        return 100.0 * same / before.length;
    }

    /** 100 when the continuation, leading whitespace aside, starts with the target; else 0. */
    public static double exactMatch(String continuation, String target) {
        return continuation.strip().startsWith(target.strip()) ? 100 : 0;
    }

    /** exp of the mean negative log-probability (natural log); null for no tokens. */
    public static Double perplexity(double[] logProbs) {
        if (logProbs.length == 0) {
            return null;
        }
        double sum = 0;
        for (double lp : logProbs) {
            sum += lp;
        }
        return Math.exp(-sum / logProbs.length);
    }

    /**
     * PPL_r as the ICE paper defines it: the perplexity of the generated continuation divided by the perplexity of
     * target_new, both under the unedited model given the prompt. Null when either has no tokens.
     */
    public static Double perplexityRatio(double[] continuationLogProbs, double[] targetLogProbs) {
        Double gen = perplexity(continuationLogProbs);
        Double target = perplexity(targetLogProbs);
        return gen == null || target == null ? null : gen / target;
    }
}
