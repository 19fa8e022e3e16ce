package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.model.LanguageModel;
import dev.icedit.testing.RealTokenizerModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * /api/score on a tiny model carrying Mistral-7B's real tokenizer: " Paris" after "The capital of France is" is the
 * one token "▁Paris" (5465), as the joint encoding gives it, not "▁" + "▁Paris" (28705, 5465) as " Paris" alone
 * encodes in a mistral directory.
 */
class RealTokenizerServerTest {
    @TempDir Path work;

    @ParameterizedTest
    @ValueSource(strings = {"mistral7b-llama", "mistral7b-mistral"})
    void scoresTheTokensAfterThePrompt(String name) throws Exception {
        Path dir = RealTokenizerModels.dir(name);
        try (LanguageModel model = LanguageModel.load(dir);
                ModelServer server = new ModelServer(model, ServerOptions.loopback(0, work)).start()) {
            Http http = new Http(server.url(), null);
            JsonNode score = http.post("/api/score", Map.of("prompt", "The capital of France is",
                    "continuation", " Paris")).json();
            List<Long> ids = new ArrayList<>();
            score.get("tokens").forEach(t -> ids.add(t.get("id").asLong()));
            System.out.printf("[real tokenizer] %s: /api/score tokens %s (\" Paris\" alone: %s)%n", name, ids,
                    java.util.Arrays.toString(model.tokenizer().encodeText(" Paris")));
            assertThat(ids).containsExactly(5465L);
            assertThat(score.get("boundary_merged").asBoolean()).isFalse();
            if (name.equals("mistral7b-mistral")) {
                assertThat(model.tokenizer().encodeText(" Paris")).containsExactly(28705, 5465);
            }
        }
    }

    /** serve --chat-template: every route reads the prompt as one user turn of Qwen3's template. */
    @org.junit.jupiter.api.Test
    void servesAChatModelThroughItsTemplate() throws Exception {
        Path dir = RealTokenizerModels.dir("qwen3-qwen2");
        JsonNode golden = RealTokenizerModels.golden("qwen3-qwen2").get("chat").get("cases").get(0);
        try (LanguageModel model = LanguageModel.load(dir, LanguageModel.Options.defaults().withChatTemplate(true));
                ModelServer server = new ModelServer(model, ServerOptions.loopback(0, work)).start()) {
            Http http = new Http(server.url(), null);
            assertThat(http.get("/api/model").json().get("chat_template").asBoolean()).isTrue();
            JsonNode score = http.post("/api/score", Map.of("prompt", golden.get("user").asText(),
                    "continuation", golden.get("answer").asText())).json();
            List<Long> ids = new ArrayList<>();
            score.get("tokens").forEach(t -> ids.add(t.get("id").asLong()));
            List<Long> want = new ArrayList<>();
            golden.get("answer_tokens").forEach(t -> want.add(t.asLong()));
            assertThat(ids).isEqualTo(want);
            JsonNode gen = http.post("/api/generate", Map.of("prompt", golden.get("user").asText(),
                    "max_new_tokens", 3)).json();
            assertThat(gen.get("prompt_tokens").asInt()).isEqualTo(golden.get("ids").size());
        }
    }
}
