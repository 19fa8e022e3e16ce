package dev.icedit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A pass that resumes from a {@link FrozenPrefix} gives, bit for bit, what a full pass gives, with a hook at the
 * kept layer's MLP output that changes between passes (as ROME's target vector does), on both architectures.
 */
class FrozenPrefixTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2", "qwen3"})
    void resumedPassesEqualFullPasses(String arch) {
        try (LanguageModel model = LanguageModel.load(Path.of("src/test/resources/golden", arch));
                FrozenPrefix prefix = new FrozenPrefix(1);
                NDScope scope = new NDScope()) {
            Weights w = model.currentWeights();
            TokenBatch batch = TokenBatch.leftPadded(List.of(new long[] {3, 5, 7, 9, 11}, new long[] {4, 6, 8}), 0);
            int differing = 0;
            for (int step = 0; step < 3; step++) {
                float shift = 0.25f * step;
                Hooks hooks = Hooks.of(ActivationSite.mlpOut(1), (site, x) -> x.add(shift));
                float[] full = model.hidden(w, batch, null, hooks).toFloatArray();
                float[] resumed = model.hidden(w, batch, null, hooks, prefix).toFloatArray();
                assertThat(prefix.ready()).isTrue(); // the first pass kept the values, the later ones start there
                assertThat(resumed).hasSameSizeAs(full);
                for (int i = 0; i < full.length; i++) {
                    differing += Float.floatToRawIntBits(full[i]) == Float.floatToRawIntBits(resumed[i]) ? 0 : 1;
                }
            }
            System.out.printf("FrozenPrefixTest %s: %d values differ between full and resumed passes%n", arch, differing);
            assertThat(differing).isZero();
            TokenBatch other = TokenBatch.leftPadded(List.of(new long[] {3, 5, 7, 9, 12}, new long[] {4, 6, 8}), 0);
            assertThatThrownBy(() -> model.hidden(w, other, null, Hooks.NONE, prefix))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("one batch");
        }
    }
}
