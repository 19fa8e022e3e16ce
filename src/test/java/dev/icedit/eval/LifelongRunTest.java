package dev.icedit.eval;

import static dev.icedit.testing.HostMatrices.eigen;
import static dev.icedit.testing.HostMatrices.host;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.edit.locate.SecondMoments;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.run.EvalListener;
import dev.icedit.eval.run.EvalOptions;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.testing.HostMatrices.Eigen;
import dev.icedit.testing.TestCorpus;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A continual AlphaEdit run keeps the keys its edits wrote (patches/keys/) beside its state, so that a run stopped
 * after one edit and resumed computes the second edit exactly as an uninterrupted run does (its weights bit for
 * bit: the second update depends on the first edit's keys); the curve records resident memory and edit time.
 */
class LifelongRunTest {
    @TempDir Path tmp;

    @Test
    void aResumedAlphaEditRunEqualsAnUninterruptedOneBitForBit() throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 3);
        Dataset data = DatasetLoader.load(Path.of(EvalCommandTest.DATA));
        List<String> progress = new ArrayList<>();
        EvalListener listener = new EvalListener() {
            @Override
            public void info(String line) {
                progress.add(line);
            }
        };
        try (LanguageModel model = LanguageModel.load(Path.of(EvalCommandTest.MODEL))) {
            Mom2Settings mom2 = new Mom2Settings(corpus.toString(), 40, "float32", tmp.resolve("stats").toString());
            Map<Integer, SecondMoments.Stats> stats = SecondMoments.get(model, List.of(1), mom2, EditProgress.NONE);
            Eigen e = eigen(host(stats.get(1).moment()));
            stats.values().forEach(SecondMoments.Stats::close);
            Path hparams = tmp.resolve("alphaedit.yaml");
            Files.writeString(hparams, String.join("\n", "alg_name: AlphaEdit", "layers: [1]", "v_num_grad_steps: 2",
                    "v_lr: 0.5", "v_weight_decay: 0.001", "clamp_norm_factor: 4", "kl_factor: 0.0625",
                    "nullspace_threshold: " + e.values()[e.values().length / 2], "L2: 2",
                    "context_template_length_params: [[3, 2]]", "mom2_dataset: " + corpus, "mom2_n_samples: 40",
                    "stats_dir: " + tmp.resolve("stats"), "seed: 0", ""));
            EvalOptions two = new EvalOptions("AlphaEdit", hparams.toString(), EvalOptions.Mode.CONTINUAL,
                    EvalOptions.Schedule.IMMEDIATE, 2, 0, 0L, 10, 1, 1);
            EvalOptions one = new EvalOptions("AlphaEdit", hparams.toString(), EvalOptions.Mode.CONTINUAL,
                    EvalOptions.Schedule.IMMEDIATE, 1, 0, 0L, 10, 1, 1);

            Evaluation.run(model, data, two, tmp.resolve("whole"), listener);
            Evaluation.run(model, data, one, tmp.resolve("resumed"), EvalListener.NONE);
            progress.clear();
            Evaluation.run(model, data, two, tmp.resolve("resumed"), listener);
            assertThat(progress).anyMatch(l -> l.contains("re-read the keys of 1 saved edits"));

            for (String run : List.of("whole", "resumed")) {
                for (int j = 0; j < 2; j++) {
                    assertThat(tmp.resolve(run).resolve(String.format("patches/keys/edit-%06d.safetensors", j)))
                            .exists();
                }
            }
            Path a = tmp.resolve("whole/patches/continual-state.safetensors");
            Path b = tmp.resolve("resumed/patches/continual-state.safetensors");
            try (SafetensorsFile fa = SafetensorsFile.open(a); SafetensorsFile fb = SafetensorsFile.open(b)) {
                assertThat(fb.entries().keySet()).isEqualTo(fa.entries().keySet());
                for (String name : fa.entries().keySet()) {
                    ByteBuffer x = fa.map(fa.entry(name));
                    ByteBuffer y = fb.map(fb.entry(name));
                    assertThat(y.equals(x)).as(name).isTrue();
                }
            }
            // the curve has the resident memory and the seconds spent editing
            ObjectMapper json = new ObjectMapper();
            List<JsonNode> curve = new ArrayList<>();
            for (String line : Files.readAllLines(tmp.resolve("whole/curve.jsonl"))) {
                curve.add(json.readTree(line));
            }
            assertThat(curve).extracting(p -> p.get("edits").asInt()).containsExactly(0, 1, 2);
            assertThat(curve.get(2).get("resident_mib").asDouble()).isGreaterThan(10);
            assertThat(curve.get(2).get("edit_seconds").asDouble()).isGreaterThan(curve.get(1).get("edit_seconds")
                    .asDouble());
            assertThat(progress).anyMatch(l -> l.matches("edits 2/2, .* s each, about .* left; resident memory \\d+ MiB"));
        }
    }
}
