package dev.icedit.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.RandomModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Prints forward throughput (tokens/s, batch 1 x 128 tokens and batch 8 x 128), the time of one backward pass to
 * one layer's MLP output weight, and this machine's matmul GFLOP/s measured in the same run. Not a test: run with
 * tools/bench/runtime.sh [--gpt2-xl].
 */
public final class RuntimeBenchmark {
    public static void main(String[] args) throws Exception {
        boolean xl = List.of(args).contains("--gpt2-xl");
        System.out.printf("matmul 2048^3 fp32: %.0f GFLOP/s (threads: %s)%n", Backend.matmulGflops(2048, 10),
                System.getProperty("ai.djl.pytorch.num_threads", "default"));
        List<Path> models = new ArrayList<>();
        for (String n : List.of("gpt2", "llama", "qwen2", "mistral")) {
            models.add(Path.of("src/test/resources/golden", n));
        }
        if (Files.exists(Path.of("models/default/config.json"))) {
            models.add(Path.of("models/default"));
        }
        Path tmp = null;
        if (xl) {
            tmp = Files.createTempDirectory("icedit-bench");
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("model_type", "gpt2");
            c.put("vocab_size", 50257);
            c.put("n_embd", 1600);
            c.put("n_layer", 48);
            c.put("n_head", 25);
            c.put("n_positions", 1024);
            long t0 = System.nanoTime();
            RandomModel.write(tmp.resolve("gpt2-xl-random"), c, DType.F32, 0.02, 1, null);
            System.out.printf("wrote GPT-2 XL-shaped random model in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            models.add(tmp.resolve("gpt2-xl-random"));
        }
        System.out.printf("%-28s %10s %14s %14s %14s%n", "model", "params", "fwd tok/s b1", "fwd tok/s b8", "backward ms");
        for (Path dir : models) {
            run(dir, xl && dir.toString().contains("xl") ? 2 : 10);
        }
        System.out.printf("matmul 2048^3 fp32 (again, after): %.0f GFLOP/s%n", Backend.matmulGflops(2048, 10));
        if (tmp != null) {
            try (var s = Files.walk(tmp)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void run(Path dir, int repeats) {
        try (LanguageModel m = LanguageModel.load(dir)) {
            int t = Math.min(128, m.config().maxPositions());
            SplittableRandom r = new SplittableRandom(0);
            double b1 = forward(m, 1, t, repeats, r);
            double b8 = forward(m, 8, t, Math.max(1, repeats / 4), r);
            double back = backward(m, t, repeats, r);
            String name = dir.getFileName().toString();
            System.out.printf("%-28s %9.1fM %14.0f %14.0f %14.1f%n", name, m.parameterCount() / 1e6, b1, b8, back);
        }
    }

    private static double forward(LanguageModel m, int batch, int t, int repeats, SplittableRandom r) {
        List<long[]> rows = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            rows.add(r.longs(t, 3, m.config().vocabSize()).toArray());
        }
        TokenBatch tb = TokenBatch.leftPadded(rows, 0);
        try (LanguageModel.Lease lease = m.lease()) {
            once(m, lease.weights(), tb);
            long t0 = System.nanoTime();
            for (int i = 0; i < repeats; i++) {
                once(m, lease.weights(), tb);
            }
            return repeats * (double) batch * t / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static void once(LanguageModel m, Weights w, TokenBatch tb) {
        try (NDScope scope = new NDScope()) {
            m.logits(w, m.hidden(w, tb, null, Hooks.NONE)).getFloat(0, 0, 0);
        }
    }

    /** Milliseconds for forward + backward of a next-token loss to the middle layer's MLP output weight. */
    private static double backward(LanguageModel m, int t, int repeats, SplittableRandom r) {
        long[] ids = r.longs(t, 3, m.config().vocabSize()).toArray();
        String param = m.config().mlpOutputWeight(m.config().numLayers() / 2);
        double total = 0;
        try (LanguageModel.Lease lease = m.lease()) {
            for (int i = 0; i <= repeats; i++) {
                try (NDScope scope = new NDScope()) {
                    NDArray leaf = lease.weights().get(param).duplicate();
                    leaf.setRequiresGradient(true);
                    Weights w = lease.weights().with(Map.of(param, leaf));
                    long t0 = System.nanoTime();
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = m.logits(w, m.hidden(w, TokenBatch.of(ids), null, Hooks.NONE));
                        NDArray loss = logits.logSoftmax(-1).mean().neg();
                        gc.backward(loss);
                    }
                    leaf.getGradient().getFloat(0, 0);
                    if (i > 0) {
                        total += (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
        }
        return total / repeats;
    }
}
