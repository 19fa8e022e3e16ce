package dev.icedit.edit.ice;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDScope;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.testing.Golden;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * top_k reaches ICE's sampling of y, in the dynamic and the static variant. With top_k 1 only the most likely token
 * can be drawn, whatever the temperature, so the loss (which reads the model's untempered distributions) is the same
 * at temperature 100 and 1; with top_k 0 the temperature changes the draws and so the loss.
 */
class IceSamplingTest {
    private static final List<EditRequest> BATCH = List.of(EditRequest.of("The capital of France is", "Rome"),
            EditRequest.of("Alice works as a", "pilot"));

    private static double loss(LanguageModel m, int topK, double temperature, boolean staticTarget) {
        TuningHyperParams hp = HyperParams.with(HyperParams.preset("ICE", "default-model", TuningHyperParams.class),
                Map.of("layers", List.of(0), "top_k", topK, "temperature", temperature, "static_target", staticTarget,
                        "max_new_tokens", 3));
        try (NDScope scope = new NDScope()) {
            return new IceObjective(hp).loss(m, m.currentWeights(), m.currentWeights(), BATCH, 0,
                    new SplittableRandom(5)).getFloat();
        }
    }

    @Test
    void topKOneMakesTheDrawsIndependentOfTheTemperature() {
        try (LanguageModel m = LanguageModel.load(Golden.ROOT.resolve("llama"))) {
            for (boolean staticTarget : new boolean[] {false, true}) {
                double greedyHot = loss(m, 1, 100, staticTarget);
                double greedyCold = loss(m, 1, 1, staticTarget);
                double allHot = loss(m, 0, 100, staticTarget);
                double allCold = loss(m, 0, 1, staticTarget);
                System.out.printf("[ice-sampling] static_target %s: top_k 1: %.5f at T 100, %.5f at T 1; top_k 0:"
                        + " %.5f at T 100, %.5f at T 1%n", staticTarget, greedyHot, greedyCold, allHot, allCold);
                assertThat(greedyHot).isEqualTo(greedyCold);
                assertThat(Math.abs(allHot - allCold)).isGreaterThan(1e-3);
            }
        }
    }

    @Test
    void theSamplingTakenFromTheModelIsReportedWhereTheHyperParametersLeaveItUnset() {
        TuningHyperParams preset = HyperParams.preset("ICE", "default-model", TuningHyperParams.class);
        try (LanguageModel m = LanguageModel.load(Golden.ROOT.resolve("llama"))) {
            var unset = dev.icedit.edit.Editors.create("ICE", m.config(), null);
            assertThat(unset.modelDefaults(m)).isEqualTo(Map.of("top_k", 50, "top_p", 1.0)); // transformers' defaults
            var topK = new dev.icedit.edit.tuning.ConstrainedTuner("ICE", HyperParams.with(preset, Map.of("top_k", 7)),
                    () -> new IceObjective(HyperParams.with(preset, Map.of("top_k", 7))));
            assertThat(topK.modelDefaults(m)).isEqualTo(Map.of("top_p", 1.0));
            var ft = dev.icedit.edit.Editors.create("FT-M", m.config(), null);
            assertThat(ft.modelDefaults(m)).isEmpty();
        }
    }
}
