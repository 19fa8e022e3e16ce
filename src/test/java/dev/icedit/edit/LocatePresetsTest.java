package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shipped ROME and MEMIT presets load and carry the released values. */
class LocatePresetsTest {
    @Test
    void romePresetsLoadWithTheReleasedValues() {
        RomeHyperParams gpt2 = HyperParams.preset("ROME", "gpt2-xl", RomeHyperParams.class);
        assertThat(gpt2.layers()).containsExactly(17);
        assertThat(gpt2.vLossLayer()).isEqualTo(47);
        assertThat(gpt2.vWeightDecay()).isEqualTo(0.5);
        assertThat(gpt2.mom2Adjustment()).isTrue();
        assertThat(gpt2.mom2NSamples()).isEqualTo(100000);
        RomeHyperParams llama = HyperParams.preset("ROME", "llama-2-7b", RomeHyperParams.class);
        assertThat(llama.layers()).containsExactly(5);
        assertThat(llama.vNumGradSteps()).isEqualTo(25);
        RomeHyperParams small = HyperParams.preset("ROME", "default-model", RomeHyperParams.class);
        assertThat(small.vLossLayer()).isNull();
        assertThat(small.mom2Adjustment()).isTrue();
        assertThat(Editors.method("rome").create(small).method()).isEqualTo("ROME");
    }

    @Test
    void memitPresetsLoadWithTheReleasedValues() {
        MemitHyperParams gpt2 = HyperParams.preset("MEMIT", "gpt2-xl", MemitHyperParams.class);
        assertThat(gpt2.layers()).containsExactly(13, 14, 15, 16, 17);
        assertThat(gpt2.clampNormFactor()).isEqualTo(0.75);
        assertThat(gpt2.mom2UpdateWeight()).isEqualTo(20000);
        MemitHyperParams llama = HyperParams.preset("MEMIT", "llama-2-7b", MemitHyperParams.class);
        assertThat(llama.layers()).containsExactly(4, 5, 6, 7, 8);
        assertThat(llama.mom2UpdateWeight()).isEqualTo(15000);
        assertThat(llama.contextTemplateLengthParams()).isEqualTo(List.of(List.of(10, 5)));
        MemitHyperParams small = HyperParams.preset("MEMIT", "default-model", MemitHyperParams.class);
        assertThat(Editors.method("MEMIT").reseed(small, 7)).isEqualTo(small.withSeed(7));
        assertThat(Editors.method("MEMIT").create(small).hyperParameters()).containsEntry("mom2_update_weight", 500.0);
    }
}
