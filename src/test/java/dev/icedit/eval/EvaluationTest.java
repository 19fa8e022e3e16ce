package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.run.EvalListener;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.model.LanguageModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluation through the library: it leaves the model it was given exactly as it was. */
class EvaluationTest {
    @Test
    void singleAndContinualRunsLeaveTheModelBitForBitAsGivenAndLeakNoArrays(@TempDir Path tmp) {
        Dataset data = DatasetLoader.load(Path.of(EvalCommandTest.DATA));
        try (LanguageModel model = LanguageModel.load(Path.of(EvalCommandTest.MODEL))) {
            List<String> names = new ArrayList<>(model.currentWeights().names());
            String before = LanguageModel.fingerprint(model.currentWeights(), names);
            int arrays = model.manager().getManagedArrays().size();
            EvalOptions options = new EvalOptions("ICE", EvalCommandTest.HPARAMS, EvalOptions.Mode.SINGLE,
                    EvalOptions.Schedule.IMMEDIATE, 2, 0, 7L, 30, 2, 1);
            Evaluation.Outcome single = Evaluation.run(model, data, options, tmp.resolve("single"), EvalListener.NONE);
            assertThat(single.result().cases()).hasSize(2);
            assertThat(single.summary().get("seed")).isEqualTo(7L);
            assertThat(model.modifiedWeights()).isEmpty();
            assertThat(LanguageModel.fingerprint(model.currentWeights(), names)).isEqualTo(before);

            Evaluation.Outcome continual = Evaluation.run(model, data,
                    options.withMode(EvalOptions.Mode.CONTINUAL, EvalOptions.Schedule.IMMEDIATE),
                    tmp.resolve("continual"), EvalListener.NONE);
            assertThat(continual.result().curve()).extracting(p -> p.edits()).containsExactly(0, 1, 2);
            assertThat(model.modifiedWeights()).isEmpty();
            assertThat(LanguageModel.fingerprint(model.currentWeights(), names)).isEqualTo(before);
            // every tensor an edit, a measurement or the continual state made was freed
            assertThat(model.manager().getManagedArrays()).hasSize(arrays);
        }
    }
}
