package dev.icedit.edit.rome;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.model.ActivationSite;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.testing.Golden;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ROME's rank-one update against its closed form, on tiny models of both weight layouts (Llama's down_proj is
 * stored (out, in), GPT-2's c_proj (in, out)). The edited model is run with its MLP input replaced by a chosen key,
 * so the check goes through the forward pass: W' k* + b = v*, and W' x + b = W x + b for every x with
 * (C^-1 k*)^T x = 0.
 */
class RomeRankOneTest {
    @TempDir Path tmp;

    static RomeHyperParams params(Path corpus, Path stats, int layer, int samples) {
        return new RomeHyperParams("ROME", List.of(layer), null, 8, 0.5, null, 1e-3, 4, 0.0625, true,
                List.of(List.of(3, 2)), corpus.toString(), samples, "float32", stats.toString(), 0L);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void updateWritesTheValueAtTheKeyAndLeavesOrthogonalKeysAlone(String family) throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 1);
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            int layer = 1;
            RomeHyperParams hp = params(corpus, tmp.resolve("stats"), layer, 40);
            EditRequest request = new EditRequest("The Eiffel Tower is located in the city of", "Rome",
                    "Eiffel Tower", List.of());
            try (Rome.Computation c = new Rome(hp).compute(model, List.of(request), EditProgress.NONE);
                    NDScope scope = new NDScope()) {
                assertThat(c.updates).hasSize(1);
                Rome.Update u = c.updates.get(0);
                Weights before = model.currentWeights();
                Weights after = before.with(c.newWeights);
                assertThat(c.newWeights).containsOnlyKeys(model.config().mlpOutputWeight(layer));

                // the direction is C^-1 k*: C u = k*
                try (LanguageModel.Lease lease = model.lease()) {
                    Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, List.of(layer), hp.mom2(),
                            EditProgress.NONE);
                    try (SecondMoments.Stats s = stats.get(layer)) {
                        assertThat(s.fromCache()).isTrue();
                        NDArray cu = s.moment().matMul(u.direction().reshape(-1, 1)).reshape(-1);
                        assertThat(relative(cu, u.keyStar())).isLessThan(1e-8);
                    }
                }

                // W' k* + b = v* = W k* + b + delta, through the forward pass
                NDArray oldAtKey = outputAt(model, before, layer, u.keyStar());
                NDArray newAtKey = outputAt(model, after, layer, u.keyStar());
                assertThat(u.delta().norm().getDouble()).isGreaterThan(1e-3 * oldAtKey.norm().getDouble());
                assertThat(relative(newAtKey, u.valueStar())).isLessThan(1e-4);
                assertThat(relative(oldAtKey.add(u.delta()), u.valueStar())).isLessThan(1e-4);

                // keys x with u^T x = 0 map where they mapped before; a generic key does not
                NDManager m = model.manager();
                for (int i = 0; i < 3; i++) {
                    NDArray g = m.randomNormal(0, 1, new Shape(u.keyStar().size()), DataType.FLOAT64)
                            .mul(u.keyStar().norm());
                    NDArray x = g.sub(u.direction().mul(u.direction().dot(g).div(u.direction().dot(u.direction()))));
                    assertThat(Math.abs(x.dot(u.direction()).getDouble())).isLessThan(1e-9 * x.norm().getDouble()
                            * u.direction().norm().getDouble());
                    assertThat(relative(outputAt(model, after, layer, x), outputAt(model, before, layer, x)))
                            .isLessThan(1e-4);
                    NDArray changed = outputAt(model, after, layer, g).sub(outputAt(model, before, layer, g));
                    assertThat(changed.norm().getDouble()).isGreaterThan(1e-3 * u.delta().norm().getDouble());
                }
            }
        }
    }

    /** The MLP output of {@code layer} when its input at the first token is replaced by {@code key}, float64. */
    static NDArray outputAt(LanguageModel model, Weights w, int layer, NDArray key) {
        NDArray[] out = new NDArray[1];
        Hooks hooks = Hooks.of(ActivationSite.mlpIn(layer), (s, x) -> {
            NDArray k = key.toType(x.getDataType(), false).reshape(1, 1, -1); // (1, 1, I)
            return k.concat(x.get(new NDIndex(":, 1:, :")), 1); // (1, T, I), position 0 replaced
        }).and(ActivationSite.mlpOut(layer), (s, x) -> {
            out[0] = x.get(new NDIndex("0, 0, :")).toType(DataType.FLOAT64, false); // (C)
            NDScope.unregister(out[0]);
            return x;
        });
        try (NDScope scope = new NDScope()) {
            model.hidden(w, TokenBatch.of(new long[] {5, 6, 7}), null, hooks);
        }
        NDScope.register(out[0]);
        return out[0];
    }

    static double relative(NDArray a, NDArray b) {
        return a.sub(b).norm().getDouble() / b.norm().getDouble();
    }
}
