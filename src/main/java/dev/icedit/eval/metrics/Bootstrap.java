package dev.icedit.eval.metrics;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Percentile bootstrap over cases. A metric over a set of cases is a ratio of sums, {@code sum(num) / sum(den)} over
 * the cases that have it ({@code den > 0}): a per-case mean is (value, 1), a per-type metric that pools the items of
 * a type is (sum of the case's item scores, number of its items). Each resample draws as many cases, with
 * replacement, as have the metric, with a {@link SplittableRandom} seeded by the run's seed; the interval is the
 * 2.5th and 97.5th percentile of the resampled statistic (linear interpolation between order statistics, position
 * {@code q * (B - 1)}, as numpy's default).
 */
public final class Bootstrap {
    public static final int DEFAULT_RESAMPLES = 2000;
    public static final double LEVEL = 0.95;

    private Bootstrap() {}

    /** A two-sided 95% interval. */
    public record Interval(double low, double high) {
        public double width() {
            return high - low;
        }
    }

    /** The ratio of sums over the cases with {@code den > 0}, its case and item counts and its interval; null without cases. */
    public static Estimate ratio(double[] num, double[] den, int resamples, long seed) {
        int[] have = withData(den);
        if (have.length == 0) {
            return null;
        }
        double value = ratioOf(num, den, have);
        double[] stats = resample(have, resamples, seed, pick -> ratioOf(num, den, pick));
        return new Estimate(value, have.length, items(den, have), interval(stats));
    }

    /**
     * The paired difference {@code b - a} of a metric measured on the same cases by two runs: both ratios over the
     * cases that have the metric in both, each resample drawing the same cases for both runs. Null without cases.
     */
    public static Estimate pairedDifference(double[] numA, double[] denA, double[] numB, double[] denB, int resamples,
            long seed) {
        double[] both = new double[denA.length];
        for (int i = 0; i < both.length; i++) {
            both[i] = denA[i] > 0 && denB[i] > 0 ? 1 : 0;
        }
        int[] have = withData(both);
        if (have.length == 0) {
            return null;
        }
        double value = ratioOf(numB, denB, have) - ratioOf(numA, denA, have);
        double[] stats = resample(have, resamples, seed, pick -> ratioOf(numB, denB, pick) - ratioOf(numA, denA, pick));
        return new Estimate(value, have.length, items(denB, have), interval(stats));
    }

    /** The statistic on {@code resamples} draws, with replacement, of as many cases as {@code cases} holds. */
    private static double[] resample(int[] cases, int resamples, long seed, ToDoubleFunction<int[]> statistic) {
        double[] stats = new double[resamples];
        SplittableRandom rng = new SplittableRandom(seed);
        int[] pick = new int[cases.length];
        for (int b = 0; b < resamples; b++) {
            for (int i = 0; i < pick.length; i++) {
                pick[i] = cases[rng.nextInt(cases.length)];
            }
            stats[b] = statistic.applyAsDouble(pick);
        }
        return stats;
    }

    /** The 2.5th and 97.5th percentiles of the resampled statistics (the array is sorted in place). */
    static Interval interval(double[] stats) {
        if (stats.length == 0) {
            return null;
        }
        Arrays.sort(stats);
        double alpha = (1 - LEVEL) / 2;
        return new Interval(percentile(stats, alpha), percentile(stats, 1 - alpha));
    }

    /** The q-quantile of sorted values, interpolating linearly at position q * (n - 1). */
    public static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double frac = pos - lo;
        return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
    }

    private static int[] withData(double[] den) {
        return java.util.stream.IntStream.range(0, den.length).filter(i -> den[i] > 0).toArray();
    }

    private static double ratioOf(double[] num, double[] den, int[] cases) {
        double n = 0;
        double d = 0;
        for (int i : cases) {
            n += num[i];
            d += den[i];
        }
        return n / d;
    }

    private static int items(double[] den, int[] cases) {
        double d = 0;
        for (int i : cases) {
            d += den[i];
        }
        return (int) Math.round(d);
    }
}
