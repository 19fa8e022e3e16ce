package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.run.MethodPlan;
import dev.icedit.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `icedit eval --contexts FILE` on the tiny golden llama: the sentences reach the edit requests and the run's settings. */
class EvalContextsTest {
    @Test
    void contextsReachTheRequestsAndTheRunSettings(@TempDir Path tmp) throws Exception {
        Path ctx = tmp.resolve("contexts.jsonl");
        Files.writeString(ctx, "{\"index\": 0, \"context\": [\"Rome is the capital of Paris.\", \"Paris moved.\"]}\n");
        Path dir = tmp.resolve("ice");
        CliRun run = EvalCommandTest.eval(dir, "--method", "ICE", "--hparams", EvalCommandTest.HPARAMS, "--limit", "2",
                "--contexts", ctx.toString());
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.err()).contains(ctx + ": context sentences for 1 cases");
        List<JsonNode> cases = EvalCommandTest.lines(dir.resolve("cases.jsonl"));
        assertThat(cases.get(0).get("request").get("context").toString())
                .isEqualTo("[\"Rome is the capital of Paris.\",\"Paris moved.\"]");
        assertThat(cases.get(1).get("request").has("context")).isFalse();
        JsonNode settings = EvalCommandTest.JSON.readTree(dir.resolve("run.json").toFile());
        assertThat(settings.toString()).contains("\"contexts_sha256\":\"");

        // other contexts are another run: the directory refuses them rather than mixing the two
        Files.writeString(ctx, "{\"index\": 0, \"context\": \"Something else.\"}\n");
        CliRun other = EvalCommandTest.eval(dir, "--method", "ICE", "--hparams", EvalCommandTest.HPARAMS, "--limit",
                "2", "--contexts", ctx.toString());
        assertThat(other.code()).isNotZero();
        assertThat(other.err()).contains("contexts_sha256");
    }

    @Test
    void inContextPutsACasesSentencesBeforeItsPrompts(@TempDir Path tmp) throws Exception {
        EvalCase c = new EvalCase(0, "The capital of France is", "Rome", "France", null, null, List.of(), List.of());
        assertThat(MethodPlan.inContextPrefix(c)).isEqualTo("Fact: The capital of France is Rome. Now: ");
        assertThat(MethodPlan.inContextPrefix(c.withContext(List.of("Rome is in France.", "It moved."))))
                .isEqualTo("Fact: Rome is in France. It moved. Now: ");

        Path ctx = tmp.resolve("contexts.jsonl");
        Files.writeString(ctx, "{\"index\": 0, \"context\": \"The weather was fine that year, everyone agreed.\"}\n");
        Path plain = tmp.resolve("plain");
        Path with = tmp.resolve("with");
        assertThat(EvalCommandTest.eval(plain, "--method", "IN-CONTEXT", "--limit", "2").code()).isZero();
        CliRun run = EvalCommandTest.eval(with, "--method", "IN-CONTEXT", "--limit", "2", "--contexts", ctx.toString());
        assertThat(run.code()).as(run.err()).isZero();
        List<JsonNode> a = EvalCommandTest.lines(plain.resolve("cases.jsonl"));
        List<JsonNode> b = EvalCommandTest.lines(with.resolve("cases.jsonl"));
        assertThat(b.get(0).get("post")).isNotEqualTo(a.get(0).get("post")); // its own sentence before every prompt
        assertThat(b.get(1).get("post")).isEqualTo(a.get(1).get("post")); // no sentence: the default one, as before
        assertThat(EvalCommandTest.JSON.readTree(with.resolve("run.json").toFile()).get("in_context_prefix").asText())
                .isEqualTo("Fact: {context} Now: ");
        assertThat(EvalCommandTest.JSON.readTree(plain.resolve("run.json").toFile()).get("in_context_prefix").asText())
                .isEqualTo("Fact: {prompt} {target_new}. Now: ");
    }

    @Test
    void aBadContextsFileFailsInOneLineBeforeAnyWork(@TempDir Path tmp) throws Exception {
        Path ctx = tmp.resolve("contexts.jsonl");
        Files.writeString(ctx, "{\"index\": 99, \"context\": \"x\"}\n");
        CliRun run = EvalCommandTest.eval(tmp.resolve("out"), "--method", "ICE", "--hparams", EvalCommandTest.HPARAMS,
                "--contexts", ctx.toString());
        assertThat(run.code()).isNotZero();
        String error = run.err().lines().filter(l -> l.contains("contexts.jsonl")).findFirst().orElseThrow();
        assertThat(error).contains("line 1: index 99 is past the last record of tiny-zsre.json (3 records)");
        assertThat(run.err().lines().filter(l -> !l.startsWith(EvalCommandTest.DATA)).count()).isEqualTo(1);
        assertThat(Files.exists(tmp.resolve("out").resolve("cases.jsonl"))).isFalse();
    }
}
