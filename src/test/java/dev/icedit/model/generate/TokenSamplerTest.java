package dev.icedit.model.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.icedit.model.config.SamplingDefaults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sampling distribution after temperature, top-k and top-p, in transformers' order, against values worked out by
 * hand. Logits (2, 1, 0, -1, -2) at temperature 2 are (1, 0.5, 0, -0.5, -1).
 */
class TokenSamplerTest {
    private static final float[] LOGITS = {2, 1, 0, -1, -2};

    private static double[] p(int topK, double topP, List<Long> banned) {
        return TokenSampler.probabilities(LOGITS.clone(), banned, 2.0, topK, topP);
    }

    @Test
    void temperatureAloneIsTheSoftmaxOfScaledLogits() {
        double z = Math.exp(1) + Math.exp(0.5) + 1 + Math.exp(-0.5) + Math.exp(-1); // 6.3329...
        assertThat(p(0, 1, List.of())).containsExactly(new double[] {Math.exp(1) / z, Math.exp(0.5) / z, 1 / z,
            Math.exp(-0.5) / z, Math.exp(-1) / z}, within(1e-12));
    }

    @Test
    void topKKeepsTheKLargestThenRenormalises() {
        double z = Math.exp(1) + Math.exp(0.5) + 1; // 5.3672: e / z = 0.50648, e^0.5 / z = 0.30720, 1 / z = 0.18632
        assertThat(p(3, 1, List.of())).containsExactly(new double[] {0.506480, 0.307196, 0.186324, 0, 0},
                within(1e-6));
        assertThat(p(3, 1, List.of())[0]).isCloseTo(Math.exp(1) / z, within(1e-12));
    }

    @Test
    void topPAfterTopKKeepsTheSmallestSetReachingTheMass() {
        // after top-k 3: 0.5065, 0.3072, 0.1863; the first two sum to 0.8137 >= 0.8, so the third goes
        double two = Math.exp(1) + Math.exp(0.5);
        assertThat(p(3, 0.8, List.of())).containsExactly(new double[] {Math.exp(1) / two, Math.exp(0.5) / two, 0, 0, 0},
                within(1e-12));
        // 0.81 is not reached by two (0.8137 >= 0.81 is): still two; 0.82 needs the third
        assertThat(p(3, 0.81, List.of())[2]).isZero();
        assertThat(p(3, 0.82, List.of())[2]).isCloseTo(0.186324, within(1e-6));
        // top-p alone over all five: 0.4287 + 0.2600 = 0.6886 < 0.7, so three are kept
        double z = Math.exp(1) + Math.exp(0.5) + 1 + Math.exp(-0.5) + Math.exp(-1);
        double three = Math.exp(1) + Math.exp(0.5) + 1;
        assertThat(Math.exp(1) / z + Math.exp(0.5) / z).isLessThan(0.7);
        assertThat(p(0, 0.7, List.of())).containsExactly(new double[] {Math.exp(1) / three, Math.exp(0.5) / three,
            1 / three, 0, 0}, within(1e-12));
    }

    @Test
    void topPAlwaysKeepsTheMostLikelyToken() {
        assertThat(p(0, 1e-9, List.of())).containsExactly(new double[] {1, 0, 0, 0, 0}, within(0.0));
    }

    @Test
    void bannedTokensGoBeforeTopKCounts() {
        // banning token 0 (an EOS under min_new_tokens) leaves 0.5, 0, -0.5 as the top 3
        double z = Math.exp(0.5) + 1 + Math.exp(-0.5);
        assertThat(p(3, 1, List.of(0L))).containsExactly(new double[] {0, Math.exp(0.5) / z, 1 / z, Math.exp(-0.5) / z,
            0}, within(1e-12));
    }

    @Test
    void tiesWithTheKthLogitAreKept() {
        float[] logits = {3, 1, 1, 0};
        double[] p = TokenSampler.probabilities(logits, List.of(), 1.0, 2, 1.0);
        double z = Math.exp(3) + 2 * Math.exp(1);
        assertThat(p).containsExactly(new double[] {Math.exp(3) / z, Math.exp(1) / z, Math.exp(1) / z, 0}, within(1e-12));
    }

    @Test
    void drawsFollowTheFilteredDistribution() {
        TokenSampler sampler = new TokenSampler(new GenerationOptions(1, 0, 2.0, 3, 0.8, 7, false));
        int n = 40_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[(int) sampler.next(LOGITS.clone(), List.of())]++;
        }
        double two = Math.exp(1) + Math.exp(0.5);
        System.out.printf("[sampler] T 2, top-k 3, top-p 0.8: frequencies %.4f %.4f %d %d %d, expected %.4f %.4f 0 0 0%n",
                counts[0] / (double) n, counts[1] / (double) n, counts[2], counts[3], counts[4], Math.exp(1) / two,
                Math.exp(0.5) / two);
        assertThat(counts[0] / (double) n).isCloseTo(Math.exp(1) / two, within(0.01));
        assertThat(counts[2] + counts[3] + counts[4]).isZero();
    }

    @Test
    void samplingDefaultsComeFromGenerationConfig(@TempDir Path dir) throws Exception {
        assertThat(SamplingDefaults.read(dir)).isEqualTo(new SamplingDefaults(50, 1.0));
        Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": true, \"top_p\": 0.9}");
        assertThat(SamplingDefaults.read(dir)).isEqualTo(new SamplingDefaults(50, 0.9));
        Files.writeString(dir.resolve("generation_config.json"), "{\"top_k\": 20, \"top_p\": 0.95}");
        assertThat(SamplingDefaults.read(dir)).isEqualTo(new SamplingDefaults(20, 0.95));
        Files.writeString(dir.resolve("generation_config.json"), "{\"top_p\": 1.5}");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SamplingDefaults.read(dir))
                .hasMessageContaining("generation_config.json").hasMessageContaining("top_p");
    }

    @Test
    void theTopKDrawWithoutSortingPicksTheTokensOfTheSortedDistribution() {
        // the fast top-k path of next() against probabilities() (which sorts) and the same uniform draws, on
        // vocabularies with ties at the k-th logit, banned ids and fewer finite logits than k
        java.util.SplittableRandom gen = new java.util.SplittableRandom(3);
        int draws = 0;
        for (int trial = 0; trial < 300; trial++) {
            int v = 1 + gen.nextInt(60);
            int k = 1 + gen.nextInt(8);
            double temperature = trial % 3 == 0 ? 1.0 : 0.3 + gen.nextDouble() * 3;
            float[] logits = new float[v];
            for (int i = 0; i < v; i++) {
                logits[i] = trial % 2 == 0 ? gen.nextInt(5) : (float) gen.nextGaussian() * 4; // ties when integral
            }
            List<Long> banned = trial % 4 == 0 ? List.of(0L, (long) (v - 1)) : List.of();
            long seed = gen.nextLong();
            TokenSampler fast = new TokenSampler(new GenerationOptions(1, 0, temperature, k, 1.0, seed, false));
            java.util.SplittableRandom slow = new java.util.SplittableRandom(seed);
            for (int d = 0; d < 20; d++) {
                double[] p = TokenSampler.probabilities(logits.clone(), banned, temperature, k, 1.0);
                double u = slow.nextDouble();
                double acc = 0;
                long expected = 0;
                for (int i = 0; i < p.length; i++) {
                    if (p[i] > 0) {
                        acc += p[i];
                        expected = i;
                        if (u < acc) {
                            break;
                        }
                    }
                }
                assertThat(fast.next(logits.clone(), banned)).as("trial %d draw %d", trial, d).isEqualTo(expected);
                draws++;
            }
        }
        assertThat(draws).isEqualTo(6000);
    }
}
