package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.Editors;
import dev.icedit.edit.ft.TargetTokens;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.RealTokenizerModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a tiny model with Mistral-7B's tokenizer in a mistral directory (where " Paris" alone is "▁" + "▁Paris"),
 * every method trains and `icedit edit` and `icedit eval` score the target's tokens after the prompt: [5465].
 */
class RealTokenizerTargetsTest {
    static final String PROMPT = "The capital of France is";
    static final long[] PARIS = {5465};
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    @Test
    void everyMethodSeesTheTokensAfterThePrompt() throws Exception {
        Path dir = RealTokenizerModels.dir("mistral7b-mistral");
        EditRequest r = new EditRequest(PROMPT, "Paris", "France", List.of());
        try (LanguageModel m = LanguageModel.load(dir)) {
            Tokenizer tok = m.tokenizer();
            assertThat(tok.encodeText(" Paris")).as("the answer alone").containsExactly(28705, 5465);
            assertThat(Editors.names()).contains("ICE", "FT-M", "FT-L", "ROME", "MEMIT");
            // ICE's rows, FT-M's and FT-L's TargetTokens, ROME's and MEMIT's v* target
            assertThat(IceObjective.row(tok, r, "Fact: The capital of France is Paris. Now: ").target())
                    .as("ICE").containsExactly(PARIS);
            assertThat(TargetTokens.of(tok, List.of(r)).targets().get(0)).as("FT-M and FT-L").containsExactly(PARIS);
            assertThat(TargetOptimizer.targetTokens(tok, r)).as("ROME and MEMIT").containsExactly(PARIS);
        }
    }

    @Test
    void editAndEvalScoreTheSameTokens() throws Exception {
        Path dir = RealTokenizerModels.dir("mistral7b-mistral");
        CliRun edit = CliRun.of("edit", "--model", dir.toString(), "--method", "FT-M", "--hparams",
                "src/test/resources/eval/tiny-ftm.yaml", "--prompt", PROMPT, "--target", "Paris", "--json", "--quiet");
        assertThat(edit.code()).as(edit.err()).isZero();
        JsonNode row = JSON.readTree(edit.out()).get("requests").get(0);
        assertThat(JSON.convertValue(row.get("before").get("target_tokens"), long[].class)).containsExactly(PARIS);
        assertThat(JSON.convertValue(row.get("after").get("target_tokens"), long[].class)).containsExactly(PARIS);

        Path data = tmp.resolve("one.json");
        Files.writeString(data, """
                [{"subject": "France", "target_new": "Paris", "prompt": "The capital of France is",
                  "ground_truth": ["Lyon"], "rephrase_prompt": "France's capital is",
                  "locality": {"Relation_Specificity": [{"prompt": "The river of Paris is", "ground_truth": ["the Seine"]}]},
                  "portability": {"Subject_Aliasing": [{"prompt": "The capital of the French Republic is", "ground_truth": "Paris"}]}}]
                """);
        Path out = tmp.resolve("run");
        CliRun eval = CliRun.of("eval", "--model", dir.toString(), "--method", "FT-M", "--hparams",
                "src/test/resources/eval/tiny-ftm.yaml", "--data", data.toString(), "--out", out.toString(),
                "--fluency-tokens", "30", "--quiet");
        assertThat(eval.code()).as(eval.err()).isZero();
        JsonNode c = JSON.readTree(Files.readAllLines(out.resolve("cases.jsonl")).get(0));
        assertThat(JSON.convertValue(c.get("target_tokens"), long[].class)).containsExactly(PARIS);
        assertThat(JSON.readTree(out.resolve("summary.json").toFile()).get("boundary_merges").asInt()).isZero();
        assertThat(eval.out()).contains("boundary_merges");

        // --chat-template: the answer follows Qwen3's generation prompt, as transformers' apply_chat_template has it
        JsonNode chat = RealTokenizerModels.golden("qwen3-qwen2").get("chat").get("cases").get(0);
        assertThat(chat.get("user").asText()).isEqualTo(PROMPT);
        Path chatOut = tmp.resolve("chat-run");
        CliRun chatEval = CliRun.of("eval", "--model", RealTokenizerModels.dir("qwen3-qwen2").toString(), "--method",
                "NONE", "--chat-template", "--data", data.toString(), "--out", chatOut.toString(), "--fluency-tokens",
                "60", "--quiet");
        assertThat(chatEval.code()).as(chatEval.err()).isZero();
        JsonNode cc = JSON.readTree(Files.readAllLines(chatOut.resolve("cases.jsonl")).get(0));
        assertThat(JSON.convertValue(cc.get("target_tokens"), long[].class))
                .containsExactly(JSON.convertValue(chat.get("answer_tokens"), long[].class));
        assertThat(JSON.readTree(chatOut.resolve("run.json").toFile()).get("chat_template").asBoolean()).isTrue();

        // the generation protocol answers the wrapped prompt: its answer is the model's greedy continuation of it
        Path genOut = tmp.resolve("chat-generation");
        CliRun genEval = CliRun.of("eval", "--model", RealTokenizerModels.dir("qwen3-qwen2").toString(), "--method",
                "NONE", "--chat-template", "--protocol", "generation", "--data", data.toString(), "--out",
                genOut.toString(), "--quiet");
        assertThat(genEval.code()).as(genEval.err()).isZero();
        String answer = JSON.readTree(Files.readAllLines(genOut.resolve("cases.jsonl")).get(0)).get("pre")
                .get("generation").get("answers").get(0).asText();
        try (LanguageModel m = LanguageModel.load(
                RealTokenizerModels.dir("qwen3-qwen2"), LanguageModel.Options.defaults()
                        .withChatTemplate(true))) {
            long[] wrapped = m.tokenizer().encodePrompt(PROMPT);
            assertThat(wrapped).containsExactly(JSON.convertValue(chat.get("ids"), long[].class));
            int budget = dev.icedit.eval.metrics.AnswerMatch.budget(PARIS.length);
            long[] greedy = Generator.generate(m, java.util.List.of(wrapped),
                    GenerationOptions.greedy(budget)).get(0);
            int end = 0;
            while (end < greedy.length && !m.tokenizer().eosTokenIds().contains(greedy[end])) {
                end++;
            }
            assertThat(answer).isEqualTo(dev.icedit.eval.metrics.AnswerMatch.firstAnswer(
                    m.tokenizer().decode(java.util.Arrays.copyOf(greedy, end))));
        }
    }
}
