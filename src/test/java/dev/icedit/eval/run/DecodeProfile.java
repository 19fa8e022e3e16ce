package dev.icedit.eval.run;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.icedit.model.Hooks;
import dev.icedit.model.KvCache;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.TokenSampler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Times decode steps by batch size. Not a test. */
public final class DecodeProfile {
    public static void main(String[] args) {
        try (LanguageModel m = LanguageModel.load(Path.of("models/default"))) {
            Weights w = m.currentWeights();
            // the floor of a decode step: only the weight matrix products of one token (every linear of every layer
            // and the vocabulary projection), nothing else
            List<String> mats = new ArrayList<>();
            for (String name : w.names()) {
                if (name.endsWith("proj.weight")) {
                    mats.add(name);
                }
            }
            ai.djl.ndarray.NDArray one = m.manager().ones(new ai.djl.ndarray.types.Shape(1, 1, 512));
            ai.djl.ndarray.NDArray wide = m.manager().ones(new ai.djl.ndarray.types.Shape(1, 1, 1024));
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                int steps = 50;
                for (int n = 0; n < steps; n++) {
                    try (NDScope scope = new NDScope()) {
                        for (String name : mats) {
                            ai.djl.ndarray.NDArray wt = w.get(name);
                            ai.djl.ndarray.NDArray x = wt.getShape().get(1) == 1024 ? wide : one;
                            x.getNDArrayInternal().linear(x, wt, null).singletonOrThrow();
                        }
                        m.logits(w, one).toFloatArray();
                    }
                }
                System.out.printf("matrix products alone (%d linears + vocabulary): %.2f ms per token%n", mats.size(),
                        (System.nanoTime() - t0) / 1e6 / steps);
            }
            for (int b : new int[] {1, 1, 2, 4, 8, 16, 32}) {
                List<long[]> prompts = new ArrayList<>();
                for (int i = 0; i < b; i++) {
                    prompts.add(new long[] {1, 100 + i, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100});
                }
                double tHidden = 0, tLogits = 0, tHost = 0, tSample = 0;
                int steps = 80;
                TokenSampler sampler = new TokenSampler(new GenerationOptions(100, 0, 1.0, 5, 1.0, 7, false));
                try (KvCache cache = new KvCache(m.config().numLayers())) {
                    TokenBatch step = TokenBatch.leftPadded(prompts, 0);
                    for (int n = 0; n < steps; n++) {
                        long t0 = System.nanoTime();
                        float[] flat;
                        long t1, t2, t3;
                        try (NDScope scope = new NDScope()) {
                            NDArray hidden = m.hidden(w, step, cache, Hooks.NONE);
                            NDArray last = hidden.get(":, -1:, :");
                            last.toFloatArray();
                            t1 = System.nanoTime();
                            NDArray logits = m.logits(w, last);
                            NDArray f = logits.toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
                            f.getShape();
                            t2 = System.nanoTime();
                            flat = f.toFloatArray();
                            t3 = System.nanoTime();
                        }
                        int v = flat.length / b;
                        long[] next = new long[b];
                        for (int r = 0; r < b; r++) {
                            float[] row = java.util.Arrays.copyOfRange(flat, r * v, (r + 1) * v);
                            next[r] = sampler.next(row, List.of());
                        }
                        long t4 = System.nanoTime();
                        step = TokenBatch.column(next);
                        if (n > 0) {
                            tHidden += (t1 - t0) / 1e6;
                            tLogits += (t2 - t1) / 1e6;
                            tHost += (t3 - t2) / 1e6;
                            tSample += (t4 - t3) / 1e6;
                        }
                    }
                }
                int k = steps - 1;
                System.out.printf("B=%2d per step: hidden %.2f ms, logits %.2f ms, to host %.2f ms, sample %.2f ms%n",
                        b, tHidden / k, tLogits / k, tHost / k, tSample / k);
            }
        }
    }
}
