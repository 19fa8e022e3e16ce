package dev.icedit.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.icedit.testing.Golden;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradients must not depend on when the garbage collector runs. DJL wraps Java buffers without copying them, and
 * autograd keeps operands for the backward pass: when a forward pass fed it such an array (rotary tables, a scalar
 * from {@code x.mul(0.5)}), a collection between forward and backward freed memory the backward pass then read, and
 * edits came out different or NaN under load. See {@link dev.icedit.tensor.HostArrays}.
 */
class GradientUnderGcTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void gradientsAreTheSameWhileTheCollectorRunsConstantly(String arch) throws Exception {
        try (LanguageModel m = LanguageModel.load(Golden.ROOT.resolve(arch))) {
            String reference = gradientHash(m);
            AtomicBoolean stop = new AtomicBoolean();
            Thread collector = new Thread(() -> {
                while (!stop.get()) {
                    System.gc();
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            collector.start();
            Set<String> seen = new HashSet<>();
            try {
                for (int i = 0; i < 8; i++) {
                    seen.add(gradientHash(m));
                }
            } finally {
                stop.set(true);
                collector.join();
            }
            assertThat(seen).as(arch + ": gradient hashes under GC").containsExactly(reference);
        }
    }

    /** Hash of d(sum of log-probabilities)/d(first layer's MLP output weight) on a fixed sentence. */
    private static String gradientHash(LanguageModel m) {
        String name = m.config().mlpOutputWeight(0);
        long[] ids = m.tokenizer().encode("The capital of Zorland is Paris and the river runs through it");
        try (NDScope scope = new NDScope()) {
            Weights base = m.currentWeights();
            NDArray leaf = base.get(name).duplicate();
            leaf.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                Weights w = base.with(Map.of(name, leaf));
                NDArray hidden = m.hidden(w, TokenBatch.of(ids), null, Hooks.NONE); // (1, T, C)
                NDArray loss = m.logits(w, hidden).logSoftmax(-1).sum();
                // a collection here is what used to free the operands autograd kept
                System.gc();
                gc.backward(loss);
            }
            return Integer.toHexString(Arrays.hashCode(leaf.getGradient().toFloatArray()));
        }
    }
}
