package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.TestCorpus;
import dev.icedit.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Models no shipped preset was made for (a 2-layer and a 24-layer tiny random Llama, a tiny Qwen3) run every
 * editing method from the command line with the preset derived from their shape, without a YAML file: the
 * layers are the rule's, and each edit raises the target's probability. ROME and MEMIT compute their statistics on
 * a small test corpus (--set keeps CI fast; everything else is the derived preset).
 */
class DerivedPresetEditTest {
    @TempDir static Path tmp;
    static Path corpus;
    static Map<String, Path> models;

    @BeforeAll
    static void models() throws Exception {
        corpus = TestCorpus.write(tmp.resolve("corpus"), 2, 200, 9);
        models = Map.of(
                "llama-2", TinyModels.writeWithTokenizer(tmp.resolve("llama-2"), TinyModels.llama(2, 64, 512), 21, "llama"),
                "llama-24", TinyModels.writeWithTokenizer(tmp.resolve("llama-24"), TinyModels.llama(24, 64, 512), 22,
                        "llama"),
                "qwen3", TinyModels.writeWithTokenizer(tmp.resolve("qwen3"), TinyModels.qwen3(4, 64, 512), 23, "qwen3"));
    }

    /** The layers the rule gives (docs/PRESETS.md): ICE/FT, ROME, MEMIT. */
    static final Map<String, List<List<Integer>>> EXPECTED_LAYERS = Map.of(
            "llama-2", List.of(List.of(0), List.of(1), List.of(0)),
            "llama-24", List.of(List.of(3, 4, 5, 6, 7), List.of(4), List.of(3, 4, 5, 6, 7)),
            "qwen3", List.of(List.of(0, 1), List.of(1), List.of(0, 1)));

    @ParameterizedTest
    @ValueSource(strings = {"llama-2", "llama-24", "qwen3"})
    void everyMethodEditsWithTheDerivedPreset(String name) throws Exception {
        for (String method : List.of("ICE", "FT-M", "FT-L", "ROME", "MEMIT")) {
            List<String> args = new ArrayList<>(List.of("edit", "--model", models.get(name).toString(), "--method",
                    method, "--prompt", "The Eiffel Tower is located in", "--target", "Rome", "--subject",
                    "Eiffel Tower", "--json"));
            if (method.equals("ROME") || method.equals("MEMIT")) {
                args.addAll(List.of("--set", "mom2_dataset=" + corpus, "--set", "mom2_n_samples=24", "--set",
                        "stats_dir=" + tmp.resolve("stats")));
            }
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertThat(run.code()).as("%s %s: %s", name, method, run.err()).isZero();
            JsonNode report = new ObjectMapper().readTree(run.out());
            assertThat(report.path("preset").path("source").asText()).isEqualTo("derived");
            List<Integer> layers = new ArrayList<>();
            report.path("hyper_parameters").path("layers").forEach(l -> layers.add(l.asInt()));
            int which = method.equals("ROME") ? 1 : method.equals("MEMIT") ? 2 : 0;
            assertThat(layers).as("%s %s layers", name, method).isEqualTo(EXPECTED_LAYERS.get(name).get(which));
            JsonNode row = report.path("requests").get(0);
            double before = row.path("before").path("target_probability").asDouble();
            double after = row.path("after").path("target_probability").asDouble();
            System.out.printf("[derived] %s %s layers %s: P(target) %.3g -> %.3g%n", name, method, layers, before, after);
            assertThat(after).as("%s %s", name, method).isGreaterThan(before);
        }
    }
}
