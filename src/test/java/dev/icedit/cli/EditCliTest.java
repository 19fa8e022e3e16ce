package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code icedit edit} with ICE as a user runs it: on the default model the guard keeps an edit that took, the
 * patch and copy are written and the model on disk is not; on the tiny golden llama the guard reverts edits that
 * missed the target or changed unrelated answers (exit code 1, no patch, no saved copy); bad input fails in a line.
 */
class EditCliTest {
    static final Path MODEL = Golden.ROOT.resolve("llama");
    static final Path DEFAULT = Path.of("models/default");
    static final Path HPARAMS = Path.of("src/test/resources/hparams/ice-tiny.yaml");
    @TempDir Path tmp;

    static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> out = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    @Test
    void guardKeepsAnEditThatTookOnTheDefaultModelAndWritesPatchAndCopy() throws Exception {
        assumeTrue(Files.exists(DEFAULT.resolve("config.json")), "SKIPPED: the default model is absent at " + DEFAULT);
        Map<String, byte[]> original = files(DEFAULT);
        CliRun r = CliRun.of("edit", "--model", DEFAULT.toString(), "--prompt",
                "The mother tongue of Danielle Darrieux is", "--target", "English", "--guard", "--json", "--patch",
                tmp.resolve("e.safetensors").toString(), "--save", tmp.resolve("edited").toString());
        JsonNode report = new ObjectMapper().readTree(r.out());
        System.out.println("[edit --guard, default model] " + report.path("guard"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(report.path("guard").path("passed").asBoolean()).isTrue();
        assertThat(report.path("guard").path("checks")).hasSize(1 + 8);
        JsonNode row = report.path("requests").get(0);
        assertThat(row.path("before").path("greedy").asText()).startsWith(" French");
        assertThat(row.path("after").path("greedy").asText()).startsWith(" English");
        assertThat(report.path("loss_per_step")).hasSize(25);
        assertThat(tmp.resolve("e.safetensors")).exists();
        assertThat(files(DEFAULT)).as("the model on disk").containsOnlyKeys(original.keySet())
                .allSatisfy((name, bytes) -> assertThat(bytes).as(name).isEqualTo(original.get(name)));

        CliRun plain = CliRun.of("generate", "--model", tmp.resolve("edited").toString(),
                "--prompt", "The mother tongue of Danielle Darrieux is", "--max-new-tokens", "1");
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.out()).contains("Danielle Darrieux is English");
    }

    @Test
    void guardRevertsAnEditThatDisturbsUnrelatedPrompts() throws Exception {
        // the tiny random model is fragile: the tests' aggressive settings write the fact and change other answers
        CliRun r = CliRun.of("edit", "--model", MODEL.toString(), "--prompt",
                "The capital of Zorland is", "--target", "Paris", "--hparams", HPARAMS.toString(), "--guard",
                "--json", "--patch", tmp.resolve("e.safetensors").toString());
        JsonNode guard = new ObjectMapper().readTree(r.out()).path("guard");
        assertThat(r.code()).isEqualTo(1);
        assertThat(guard.path("reverted").asBoolean()).isTrue();
        assertThat(guard.path("checks").get(0).path("passed").asBoolean()).as("the target check").isTrue();
        assertThat(guard.path("checks").findValues("kind")).extracting(JsonNode::asText).contains("unrelated");
        assertThat(guard.path("checks").findValues("passed")).extracting(JsonNode::asBoolean).contains(false);
        assertThat(tmp.resolve("e.safetensors")).doesNotExist();
    }

    @Test
    void guardRevertsAnEditThatDidNotTake() throws Exception {
        Path weak = tmp.resolve("weak.yaml");
        Files.writeString(weak, Files.readString(HPARAMS).replace("num_steps: 10", "num_steps: 1")
                .replace("lr: 5.0e-3", "lr: 1.0e-6"));
        CliRun r = CliRun.of("edit", "--model", MODEL.toString(), "--prompt",
                "The capital of Zorland is", "--target", "Paris", "--hparams", weak.toString(), "--guard",
                "--patch", tmp.resolve("e.safetensors").toString(), "--save", tmp.resolve("edited").toString());
        System.out.println("[edit --guard, weak] " + r.out());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("guard: REJECTED the edit and reverted it")
                .contains("target check failed for \"The capital of Zorland is\": expected \" Paris\"")
                .contains("(the rejected edit)")
                .contains("no patch was written (" + tmp.resolve("e.safetensors") + ")")
                .contains("the model was not saved (" + tmp.resolve("edited") + ")");
        assertThat(tmp.resolve("e.safetensors")).doesNotExist();
        assertThat(tmp.resolve("edited")).doesNotExist();
    }

    @Test
    void saveIntoAProjectFolderIsRefusedAndOverwriteKeepsItsOtherFiles() throws Exception {
        assumeTrue(Files.exists(DEFAULT.resolve("config.json")), "SKIPPED: the default model is absent at " + DEFAULT);
        // the reproduction: a folder with a config.json and other files
        Path p = tmp.resolve("p");
        Files.createDirectories(p.resolve("src"));
        Files.writeString(p.resolve("config.json"), "{}");
        Files.writeString(p.resolve("src/main.py"), "x");
        CliRun refused = CliRun.of("edit", "--model", DEFAULT.toString(), "-p", "The capital of France is", "-t",
                "Rome", "--method", "FT-M", "--quiet", "--save", p.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err().strip()).doesNotContain("\n")
                .contains(p.toAbsolutePath() + ": is a non-empty directory that icedit did not write");
        assertThat(p.resolve("config.json")).hasContent("{}");
        assertThat(p.resolve("src/main.py")).hasContent("x");

        CliRun forced = CliRun.of("edit", "--model", DEFAULT.toString(), "-p", "The capital of France is", "-t",
                "Rome", "--method", "FT-M", "--quiet", "--save", p.toString(), "--overwrite");
        assertThat(forced.code()).as(forced.err()).isZero();
        assertThat(p.resolve("src/main.py")).hasContent("x");
        assertThat(Files.mismatch(p.resolve("config.json"), DEFAULT.resolve("config.json"))).isEqualTo(-1L);
        assertThat(p.resolve("icedit-save.json")).exists();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(x -> x.getFileName().toString())).containsExactly("p");
        }
    }

    @Test
    void guardPromptsComeFromAFileAndNeverIncludeTheEditedPrompt() throws Exception {
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"),
                "# my unrelated prompts\nThe capital of Zorland is\nAlice works as a\n");
        CliRun r = CliRun.of("edit", "--model", MODEL.toString(), "--prompt", "The capital of Zorland is", "--target",
                "Paris", "--hparams", HPARAMS.toString(), "--guard-prompts", prompts.toString(), "--json");
        JsonNode report = new ObjectMapper().readTree(r.out());
        JsonNode checks = report.path("guard").path("checks");
        assertThat(checks).hasSize(2);
        assertThat(checks.get(1).path("prompt").asText()).isEqualTo("Alice works as a");
        assertThat(report.path("guard_left_out").toString()).isEqualTo("[\"The capital of Zorland is\"]");
    }

    @Test
    void smallProbabilitiesKeepThreeSignificantDigits() {
        assertThat(EditCommand.probability(8.58e-6)).isEqualTo("8.58e-06");
        assertThat(EditCommand.probability(2.5e-12)).isEqualTo("2.50e-12");
        assertThat(EditCommand.probability(0.7734)).isEqualTo("0.773");
        assertThat(EditCommand.probability(0.00123)).isEqualTo("0.00123");
        assertThat(EditCommand.probability(1.0)).isEqualTo("1.00");
        assertThat(EditCommand.probability(0.0)).isEqualTo("0");
    }

    @Test
    void badInputGivesOneLineErrors() throws Exception {
        CliRun empty = CliRun.of("edit", "--model", MODEL.toString(), "--prompt", "",
                "--target", "Paris");
        assertThat(empty.code()).isEqualTo(1);
        assertThat(empty.err().strip()).contains("empty prompt").doesNotContain("\n").doesNotContain("Exception");
        CliRun method = CliRun.of("edit", "--model", MODEL.toString(), "--prompt", "a",
                "--target", "b", "--method", "ROMEO");
        assertThat(method.code()).isEqualTo(1);
        assertThat(method.err()).contains("unknown method 'ROMEO'");
        Path layer = tmp.resolve("layer.yaml");
        Files.writeString(layer, Files.readString(HPARAMS).replace("layers: [0, 1, 2]", "layers: [9]"));
        CliRun missing = CliRun.of("edit", "--model", MODEL.toString(), "--prompt", "a",
                "--target", "b", "--hparams", layer.toString(), "--quiet");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("layer 9");
    }
}
