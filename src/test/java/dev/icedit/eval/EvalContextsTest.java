package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
