package dev.icedit.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.Editor;
import dev.icedit.edit.Editors;
import dev.icedit.edit.Presets;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Seconds per edit on the default model with its shipped presets, over N CounterFact requests that no preset was
 * tuned on (records 2000 on of ../shared/data/easyedit_factual/counterfact/counterfact-edit.json), after one
 * warm-up edit; each edit is made and dropped, never installed. For each method, one more edit runs under
 * libtorch's profiler, whose recorded shapes give the matrix products' FLOPs and the bytes of their weight operands,
 * set beside this run's matmul GFLOP/s and memory bandwidth (so the floor those two impose can be read off).
 * Run with tools/bench/edit-speed.sh [N] [METHOD...]; ICEDIT_THREADS sets libtorch's threads.
 */
public final class EditSpeedBenchmark {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        List<String> methods = args.length > 1 ? List.of(args).subList(1, args.length) : List.of("ICE", "FT-M");
        Path data = Path.of("../shared/data/easyedit_factual/counterfact/counterfact-edit.json");
        if (!Files.exists(data)) {
            System.out.println("SKIPPED: " + data + " is absent (the benchmark reads CounterFact requests from it)");
            return;
        }
        List<EvalCase> cases = DatasetLoader.load(data).cases().stream().filter(c -> c.index() >= 2000).limit(n + 1)
                .toList();
        double matmul = Backend.matmulGflops(1024, 20);
        double bandwidth = streamGbPerSecond();
        System.out.printf("threads %s; this run: matmul 1024^3 %.0f GFLOP/s, memory (a += b, 64 MB arrays) %.1f GB/s%n",
                System.getProperty("ai.djl.pytorch.num_threads", "default"), matmul, bandwidth);
        try (LanguageModel model = LanguageModel.load(Path.of("models/default"))) {
            for (String method : methods) {
                Presets.Choice preset = Presets.forModel(method, model.config());
                Editor editor = Editors.method(method).create(preset.hyperParams());
                editor.edit(model, List.of(cases.get(0).request()), EditProgress.NONE).close(); // warm-up
                double[] seconds = new double[n];
                for (int i = 0; i < n; i++) {
                    EditRequest r = cases.get(i + 1).request();
                    long t0 = System.nanoTime();
                    editor.edit(model, List.of(r), EditProgress.NONE).close();
                    seconds[i] = (System.nanoTime() - t0) / 1e9;
                }
                double[] sorted = seconds.clone();
                Arrays.sort(sorted);
                double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
                EditRequest profiled = cases.get(1).request();
                TraceCounts t = TraceCounts.of(() -> editor.edit(model, List.of(profiled), EditProgress.NONE).close());
                double gflop = t.matmulFlops() / 1e9;
                double gb = t.weightBytes() / 1e9;
                System.out.printf("%s (%s): %d edits, median %.3f s, min %.3f, max %.3f%n", method, preset.name(), n,
                        median, sorted[0], sorted[n - 1]);
                System.out.printf("  one edit under the profiler: %d operators, %d matrix products, %.1f GFLOP, %.2f GB"
                        + " of weight operands; at the median: %.0f GFLOP/s achieved (matmul of this run: %.0f);"
                        + " floors: %.3f s at the matmul rate, %.3f s at the memory bandwidth%n", t.operators(),
                        t.matmulCalls(), gflop, gb, gflop / median, matmul, gflop / matmul, gb / bandwidth);
                List<Map.Entry<String, double[]>> top = new ArrayList<>(t.topLevel().entrySet());
                top.sort((a, b) -> Double.compare(b.getValue()[1], a.getValue()[1]));
                double total = top.stream().mapToDouble(e -> e.getValue()[1]).sum();
                for (Map.Entry<String, double[]> e : top.subList(0, Math.min(8, top.size()))) {
                    System.out.printf("    %5.1f%%  %6d x  %s%n", 100 * e.getValue()[1] / total, (long) e.getValue()[0],
                            e.getKey().replace("autograd::engine::evaluate_function: ", "backward "));
                }
            }
        }
    }

    /** GB/s of {@code a += b} over 64 MB float arrays (two read, one written per element; in place, so no page faults). */
    static double streamGbPerSecond() {
        try (NDManager m = Backend.newManager(ai.djl.Device.cpu())) {
            NDArray a = m.ones(new Shape(16 << 20));
            NDArray b = m.ones(new Shape(16 << 20));
            a.addi(b);
            int reps = 10;
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                a.addi(b);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            return reps * 3.0 * 64e6 / s / 1e9;
        }
    }
}
