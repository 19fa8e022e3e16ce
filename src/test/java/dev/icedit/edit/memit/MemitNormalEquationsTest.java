package dev.icedit.edit.memit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.locate.MlpProjection;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.testing.Golden;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MEMIT's batched update on tiny models of both weight layouts: each layer's dW solves the normal equations
 * dW (lambda C + K K^T) = R K^T of its least-squares problem, the installed weight is W + dW, and the residual is
 * spread: the first of two layers is asked for half of Z - H, and what it writes narrows the gap left to the last.
 */
class MemitNormalEquationsTest {
    @TempDir Path tmp;

    static MemitHyperParams params(Path corpus, Path stats, List<Integer> layers, double lambda) {
        return new MemitHyperParams("MEMIT", layers, null, 6, 0.5, null, 1e-3, 4, 0.0625, lambda,
                List.of(List.of(3, 2)), corpus.toString(), 40, "float32", stats.toString(), 0L);
    }

    static List<EditRequest> requests() {
        return List.of(new EditRequest("The Eiffel Tower is located in", "Rome", "Eiffel Tower", List.of()),
                new EditRequest("Danielle Darrieux speaks", "English", "Danielle Darrieux", List.of()),
                new EditRequest("The mother tongue of Thomas Joannes Stieltjes is", "English", "Thomas Joannes Stieltjes",
                        List.of()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void eachLayersUpdateSolvesItsNormalEquations(String family) throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 3);
        double lambda = 50;
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family));
                Memit.Computation c = new Memit(params(corpus, tmp.resolve("stats"), List.of(0, 1), lambda))
                        .compute(model, requests(), EditProgress.NONE);
                NDScope scope = new NDScope()) {
            assertThat(c.layers).hasSize(2);
            assertThat(c.losses).hasSize(3);
            Weights before = model.currentWeights();
            for (Memit.LayerUpdate u : c.layers) {
                NDArray k = u.keys(); // (I, N)
                assertThat(k.getShape().getShape()).containsExactly(model.config().intermediateSize(), 3);
                NDArray lhs = u.update().matMul(u.covariance().mul(lambda).add(k.matMul(k.transpose())));
                NDArray rhs = u.residuals().matMul(k.transpose()); // (C, I)
                assertThat(rhs.norm().getDouble()).isGreaterThan(0);
                assertThat(lhs.sub(rhs).norm().getDouble() / rhs.norm().getDouble()).isLessThan(1e-8);

                // the installed weight is W + dW in the checkpoint's layout
                NDArray installed = MlpProjection.matrix(model, before.with(c.newWeights), u.layer());
                NDArray original = MlpProjection.matrix(model, before, u.layer());
                NDArray applied = installed.sub(original);
                assertThat(applied.sub(u.update()).norm().getDouble() / u.update().norm().getDouble())
                        .isLessThan(1e-4);
            }
            // the first layer is asked for half of the gap Z - H; its update narrows the gap the last layer sees
            NDArray firstGap = c.layers.get(0).residuals().mul(2);
            NDArray secondGap = c.layers.get(1).residuals();
            assertThat(secondGap.norm().getDouble()).isLessThan(firstGap.norm().getDouble());
        }
    }
}
