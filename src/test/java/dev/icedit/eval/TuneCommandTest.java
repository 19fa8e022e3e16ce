package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `icedit tune` end to end on the tiny golden llama and the hand-made 3-case ZsRE file: FT-M from a clamp far too
 * small, so the search must climb; the preset it writes is the smallest passing clamp, loads as FT-M
 * hyper-parameters, records the cases tuned on, and `icedit eval` with it leaves those cases out.
 */
class TuneCommandTest {
    static final String MODEL = "src/test/resources/golden/llama";
    static final String DATA = "src/test/resources/eval/tiny-zsre.json";
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void tuneFindsTheSmallestPassingClampAndEvalLeavesTheTuningCasesOut(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("tune");
        CliRun tune = CliRun.of("tune", "--model", MODEL, "--method", "FT-M", "--data", DATA, "--facts", "2",
                "--clamp", "5e-3", "--lr", "5e-3", "--min-locality", "0", "--budget", "10", "--out", out.toString(),
                "--quiet");
        assertThat(tune.code()).as(tune.err()).isZero();
        assertThat(tune.err()).contains("candidate 1, start (as given): layers 0, lr 0.005, norm_constraint 0.005");
        JsonNode report = JSON.readTree(out.resolve("tune.json").toFile());
        List<JsonNode> candidates = new ArrayList<>();
        report.get("candidates").forEach(candidates::add);
        assertThat(candidates.size()).isGreaterThan(2);
        assertThat(candidates.get(0).get("passed").asBoolean()).isFalse();
        JsonNode chosen = candidates.get(report.get("chosen").asInt() - 1);
        assertThat(chosen.get("edit_succ").asDouble()).isGreaterThanOrEqualTo(95);
        double clamp = chosen.get("settings").get("norm_constraint").asDouble();
        for (JsonNode c : candidates) {
            if (c.get("passed").asBoolean()) {
                assertThat(c.get("settings").get("norm_constraint").asDouble()).isGreaterThanOrEqualTo(clamp);
            }
        }
        System.out.println("[tune] " + candidates.size() + " candidates, chosen norm_constraint " + clamp + "\n"
                + tune.out());
        assertThat(out.resolve("tune.png")).isNotEmptyFile();
        assertThat(Files.readString(out.resolve("tune.md"))).contains("(chosen)");

        Path preset = out.resolve("FT-M-tuned.yaml");
        String yaml = Files.readString(preset);
        assertThat(yaml).startsWith("# FT-M preset for the model in ").contains("found by `icedit tune`")
                .contains("tuned_on:");
        TuningHyperParams hp = HyperParams.load(preset, TuningHyperParams.class);
        assertThat(hp.normConstraint()).isEqualTo(clamp);
        List<Integer> tunedOn = new ArrayList<>();
        report.get("tuned_on").get(0).get("cases").forEach(c -> tunedOn.add(c.asInt()));
        assertThat(tunedOn).hasSize(2);

        Path evalOut = tmp.resolve("eval");
        CliRun eval = CliRun.of("eval", "--model", MODEL, "--data", DATA, "--method", "FT-M", "--hparams",
                preset.toString(), "--out", evalOut.toString(), "--fluency-tokens", "10", "--quiet");
        assertThat(eval.code()).as(eval.err()).isZero();
        assertThat(eval.err()).contains("leaving out the 2 cases of tiny-zsre.json that " + preset + " was tuned on");
        List<Integer> evaluated = new ArrayList<>();
        for (String line : Files.readAllLines(evalOut.resolve("cases.jsonl"))) {
            evaluated.add(JSON.readTree(line).get("index").asInt());
        }
        assertThat(evaluated).hasSize(1).doesNotContainAnyElementsOf(tunedOn);

        // run again with the same options: every candidate resumes from its directory
        CliRun again = CliRun.of("tune", "--model", MODEL, "--method", "FT-M", "--data", DATA, "--facts", "2",
                "--clamp", "5e-3", "--lr", "5e-3", "--min-locality", "0", "--budget", "10", "--out", out.toString(),
                "--quiet");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("resuming the search");
        assertThat(JSON.readTree(out.resolve("tune.json").toFile()).get("chosen").asInt())
                .isEqualTo(report.get("chosen").asInt());
    }

    @Test
    void theBudgetStopsTheSearchAndAnOtherSearchIsNotMixedIn(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("tune");
        CliRun tune = CliRun.of("tune", "--model", MODEL, "--method", "FT-M", "--data", DATA, "--facts", "1",
                "--clamp", "1e-4", "--budget", "0.001", "--out", out.toString(), "--quiet");
        assertThat(tune.code()).isEqualTo(1);
        assertThat(tune.out()).contains("1 candidates in").contains("past the 0.001-minute budget")
                .contains("no preset written");
        CliRun other = CliRun.of("tune", "--model", MODEL, "--method", "FT-M", "--data", DATA, "--facts", "1",
                "--clamp", "2e-4", "--budget", "0.001", "--out", out.toString(), "--quiet");
        assertThat(other.code()).isEqualTo(1);
        assertThat(other.err().strip()).isEqualTo("error: " + out + ": holds a search with other settings (see"
                + " search.json), so it cannot be resumed; use another --out directory");
    }
    @Test
    void aSearchWithTheChatTemplateSaysSoAndIsNotResumedWithoutIt(@TempDir Path tmp) throws Exception {
        String model = dev.icedit.testing.RealTokenizerModels.dir("qwen3-qwen2").toString();
        Path out = tmp.resolve("tune");
        CliRun chat = CliRun.of("tune", "--model", model, "--chat-template", "--method", "FT-M", "--data", DATA,
                "--facts", "1", "--clamp", "1e-4", "--budget", "0.001", "--out", out.toString(), "--quiet");
        assertThat(chat.code()).as(chat.err()).isIn(0, 1); // 1: the one candidate did not pass
        assertThat(chat.out()).contains("1 candidates in");
        assertThat(JSON.readTree(out.resolve("search.json").toFile()).get("chat_template").asBoolean()).isTrue();
        CliRun plain = CliRun.of("tune", "--model", model, "--method", "FT-M", "--data", DATA, "--facts", "1",
                "--clamp", "1e-4", "--budget", "0.001", "--out", out.toString(), "--quiet");
        assertThat(plain.code()).isEqualTo(1);
        assertThat(plain.err().strip()).isEqualTo("error: " + out + ": holds a search with other settings (see"
                + " search.json), so it cannot be resumed; use another --out directory");
    }
}
