package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.edit.alphaedit.AlphaEditHyperParams;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shipped ROME, MEMIT and AlphaEdit presets load and carry the released values. */
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

    @Test
    void alphaEditPresetsLoadWithTheReleasedValues() {
        AlphaEditHyperParams gpt2 = HyperParams.preset("AlphaEdit", "gpt2-xl", AlphaEditHyperParams.class);
        assertThat(gpt2.layers()).containsExactly(13, 14, 15, 16, 17);
        assertThat(gpt2.vNumGradSteps()).isEqualTo(20);
        assertThat(gpt2.vLr()).isEqualTo(0.5);
        assertThat(gpt2.vWeightDecay()).isEqualTo(0.5);
        assertThat(gpt2.clampNormFactor()).isEqualTo(0.75);
        assertThat(gpt2.nullspaceThreshold()).isEqualTo(2e-2);
        assertThat(gpt2.l2()).isEqualTo(10);
        AlphaEditHyperParams llama = HyperParams.preset("AlphaEdit", "llama-2-7b", AlphaEditHyperParams.class);
        assertThat(llama.layers()).containsExactly(4, 5, 6, 7, 8);
        assertThat(llama.vNumGradSteps()).isEqualTo(25);
        assertThat(llama.vLr()).isEqualTo(0.1);
        assertThat(llama.vLossLayer()).isEqualTo(31);
        assertThat(llama.nullspaceThreshold()).isEqualTo(2e-2);
        AlphaEditHyperParams small = HyperParams.preset("AlphaEdit", "default-model", AlphaEditHyperParams.class);
        assertThat(small.layers()).containsExactly(1, 2, 3);
        assertThat(Editors.method("alphaedit").create(small).hyperParameters()).containsKeys("nullspace_threshold", "L2")
                .doesNotContainKey("mom2_update_weight");
        assertThat(Editors.method("AlphaEdit").reseed(small, 7)).isEqualTo(small.withSeed(7));
    }
}
