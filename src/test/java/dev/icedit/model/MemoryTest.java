package dev.icedit.model;

import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.icedit.tensor.DType;
import dev.icedit.testing.ProcessMemory;
import dev.icedit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading keeps one copy of the weights, and repeated work does not leak native arrays or memory. */
class MemoryTest {
    @TempDir Path tmp;

    @Test
    void loadingKeepsOneCopyOfTheWeights() throws Exception {
        assumeTrue(Files.exists(Path.of("/proc/self/status")), "needs Linux /proc to read resident memory");
        Map<String, Object> cfg = TinyModels.llama(4, 1024, 8192);
        cfg.put("intermediate_size", 2816);
        cfg.put("num_attention_heads", 8);
        cfg.put("num_key_value_heads", 4);
        Path dir = tmp.resolve("big");
        RandomModel.write(dir, cfg, DType.F32, 0.02, 7, null);
        long weightBytes = Files.size(dir.resolve("model.safetensors"));
        assertThat(weightBytes).isGreaterThan(200L << 20);
        System.gc();
        Thread.sleep(200);
        assumeTrue(ProcessMemory.resetPeak(), "cannot reset the peak RSS (/proc/self/clear_refs)");
        long before = ProcessMemory.rss();
        try (LanguageModel m = LanguageModel.load(dir)) {
            // one forward pass touches every weight
            try (NDScope scope = new NDScope()) {
                NDArray h = m.hidden(m.currentWeights(), TokenBatch.of(new long[] {1, 2, 3, 4}), null, Hooks.NONE);
                m.logits(m.currentWeights(), h).toFloatArray();
            }
            long growth = ProcessMemory.peak() - before;
            double ratio = (double) growth / weightBytes;
            System.out.printf("[memory] weights %.1f MB; peak resident growth while loading and running %.1f MB (%.2fx)%n",
                    weightBytes / 1e6, growth / 1e6, ratio);
            assertThat(ratio).isLessThan(1.3);
        }
    }

    @Test
    void generateLoopDoesNotLeak() throws InterruptedException {
        try (LanguageModel m = LanguageModel.load(Path.of("src/test/resources/golden/llama"))) {
            long[] prompt = m.tokenizer().encode("The capital of France is");
            GenerationOptions opts = GenerationOptions.sampling(8, 1.0, 20, 0.9, 1).withMinNewTokens(8);
            for (int i = 0; i < 300; i++) {
                Generator.generate(m, List.of(prompt), opts.withSeed(i));
            }
            int arraysBefore = m.manager().getManagedArrays().size();
            // windows of 1000: the first ones may still grow the heap and the allocator's pools (measured: growth
            // stops after one or two windows); a leak grows every window by the same amount
            long[] rss = new long[4];
            for (int window = 0; window < rss.length; window++) {
                if (window > 0) {
                    for (int i = 0; i < 1000; i++) {
                        Generator.generate(m, List.of(prompt), opts.withSeed(i));
                    }
                }
                System.gc();
                Thread.sleep(300);
                rss[window] = ProcessMemory.rss();
            }
            int arraysAfter = m.manager().getManagedArrays().size();
            System.out.printf("[memory] 3 x 1000 generations of 8 tokens: live arrays %d -> %d, resident %.1f -> %.1f ->"
                    + " %.1f -> %.1f MB%n", arraysBefore, arraysAfter, rss[0] / 1e6, rss[1] / 1e6, rss[2] / 1e6, rss[3] / 1e6);
            assertThat(arraysAfter).isEqualTo(arraysBefore);
            // one leaked (1, 8, V) logits tensor per generation would add 260 MB per window
            assertThat(rss[3] - rss[2]).isLessThan(16L << 20);
        }
    }
}
