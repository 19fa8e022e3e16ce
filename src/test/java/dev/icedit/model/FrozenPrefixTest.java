package dev.icedit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A pass that resumes from a {@link FrozenPrefix} gives, bit for bit, what a full pass gives, on both
 * architectures: at the MLP output with a hook there that changes between passes (as ROME's target vector does),
 * and at the MLP input with the layer's output projection changing between passes (as fine-tuning changes it).
 */
class FrozenPrefixTest {
    @ParameterizedTest(name = "{0}, kept at the MLP {1}")
    @CsvSource({"llama, output", "gpt2, output", "qwen3, output", "llama, input", "gpt2, input", "qwen3, input"})
    void resumedPassesEqualFullPasses(String arch, String point) {
        boolean input = point.equals("input");
        try (LanguageModel model = LanguageModel.load(Path.of("src/test/resources/golden", arch));
                FrozenPrefix prefix = input ? FrozenPrefix.atMlpInput(1) : FrozenPrefix.atMlpOutput(1);
                NDScope scope = new NDScope()) {
            Weights base = model.currentWeights();
            String projection = model.config().mlpOutputWeight(1);
            TokenBatch batch = TokenBatch.leftPadded(List.of(new long[] {3, 5, 7, 9, 11}, new long[] {4, 6, 8}), 0);
            int differing = 0;
            for (int step = 0; step < 3; step++) {
                float shift = 0.25f * step;
                Hooks hooks = input ? Hooks.NONE : Hooks.of(ActivationSite.mlpOut(1), (site, x) -> x.add(shift));
                NDArray scaled = base.get(projection).mul(1 + shift);
                Weights w = input ? base.with(Map.of(projection, scaled)) : base;
                float[] full = model.hidden(w, batch, null, hooks).toFloatArray();
                float[] resumed = model.hidden(w, batch, null, hooks, prefix).toFloatArray();
                assertThat(prefix.ready()).isTrue(); // the first pass kept the values, the later ones start there
                assertThat(resumed).hasSameSizeAs(full);
                for (int i = 0; i < full.length; i++) {
                    differing += Float.floatToRawIntBits(full[i]) == Float.floatToRawIntBits(resumed[i]) ? 0 : 1;
                }
            }
            System.out.printf("FrozenPrefixTest %s at the MLP %s: %d values differ between full and resumed passes%n",
                    arch, point, differing);
            assertThat(differing).isZero();
            TokenBatch other = TokenBatch.leftPadded(List.of(new long[] {3, 5, 7, 9, 12}, new long[] {4, 6, 8}), 0);
            assertThatThrownBy(() -> model.hidden(base, other, null, Hooks.NONE, prefix))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("one batch");
        }
    }
}
