package dev.icedit.eval.metrics;

/**
 * A metric's value over a set of cases with its 95% bootstrap interval.
 *
 * @param cases how many cases have the metric (the bootstrap resamples these)
 * @param items how many items they hold (equal to {@code cases} for a metric with one value per case)
 */
public record Estimate(double value, int cases, int items, Bootstrap.Interval interval) {}
