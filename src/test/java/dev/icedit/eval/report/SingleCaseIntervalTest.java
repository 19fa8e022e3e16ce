package dev.icedit.eval.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Estimate;
import org.junit.jupiter.api.Test;

/** A metric measured on one case has no interval (every resample is that case): the pages say so, not "[x, x]". */
class SingleCaseIntervalTest {
    @Test
    void oneCaseShowsNoIntervalAndTwoCasesShowTheirs() {
        Estimate one = new Estimate(100.0, 1, 2, new Bootstrap.Interval(100.0, 100.0));
        Estimate two = new Estimate(50.0, 2, 2, new Bootstrap.Interval(0.0, 100.0));
        assertThat(Comparison.withInterval("edit_succ", one)).isEqualTo("100.00 [1 case: no interval]");
        assertThat(Page.estimate("edit_succ", one)).contains("no interval from 1 case").contains("n=1").doesNotContain("[100.00");
        assertThat(Comparison.withInterval("edit_succ", two)).isEqualTo("50.00 [0.00, 100.00]");
        assertThat(Page.estimate("edit_succ", two)).contains("[0.00, 100.00]");
    }
}
