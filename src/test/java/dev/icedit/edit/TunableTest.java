package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What icedit tune varies for each method family, on the shipped presets. */
class TunableTest {
    @Test
    void iceAndFtMoveTheLearningRateWithTheClamp() {
        TuningHyperParams paper = HyperParams.preset("ICE", "llama-2-7b", TuningHyperParams.class);
        Tunable t = Tunable.of("ICE", paper);
        assertThat(t.clampKey()).isEqualTo("norm_constraint");
        TuningHyperParams doubled = (TuningHyperParams) t.withClamp(paper, 1e-3);
        assertThat(doubled.normConstraint()).isEqualTo(1e-3);
        assertThat(doubled.lr()).isEqualTo(1.4e-3); // 7e-4 / 5e-4 kept
        assertThat(doubled.layers()).isEqualTo(paper.layers());
        assertThat(t.otherWindows(paper, 32)).containsExactly(List.of(1, 2, 3, 4, 5), List.of(7, 8, 9, 10, 11));
        assertThat(t.otherWindows(paper, 9)).containsExactly(List.of(1, 2, 3, 4, 5));
        assertThat(t.effortVariants(paper)).extracting(Tunable.Variant::change).containsExactly("lr x2");
        assertThat(t.localityVariants(paper)).isEmpty();
    }

    @Test
    void romeAndMemitVaryTheValueClampStepsKlFactorAndTheWeightOfTheOldKeys() {
        RomeHyperParams rome = HyperParams.preset("ROME", "default-model", RomeHyperParams.class);
        Tunable r = Tunable.of("ROME", rome);
        assertThat(r.clampKey()).isEqualTo("clamp_norm_factor");
        assertThat(r.lrKey()).isEqualTo("v_lr");
        RomeHyperParams halved = (RomeHyperParams) r.withClamp(rome, 2);
        assertThat(halved.clampNormFactor()).isEqualTo(2);
        assertThat(halved.vLr()).isEqualTo(rome.vLr());
        assertThat(r.otherWindows(rome, 8)).containsExactly(List.of(1), List.of(3));
        assertThat(((RomeHyperParams) r.effortVariants(rome).get(0).hparams()).vNumGradSteps()).isEqualTo(50);
        assertThat(((RomeHyperParams) r.localityVariants(rome).get(0).hparams()).klFactor()).isEqualTo(0.25);

        MemitHyperParams memit = HyperParams.preset("MEMIT", "default-model", MemitHyperParams.class);
        List<Tunable.Variant> effort = Tunable.of("MEMIT", memit).effortVariants(memit);
        assertThat(effort).extracting(Tunable.Variant::change)
                .containsExactly("v_num_grad_steps x2", "mom2_update_weight /4");
        assertThat(((MemitHyperParams) effort.get(1).hparams()).mom2UpdateWeight()).isEqualTo(125.0);
        assertThat(Tunable.of("MEMIT", memit).describe(memit)).containsKeys("layers", "v_lr", "clamp_norm_factor",
                "v_num_grad_steps", "kl_factor", "mom2_update_weight");
    }
}
