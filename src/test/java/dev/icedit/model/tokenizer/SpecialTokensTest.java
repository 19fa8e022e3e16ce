package dev.icedit.model.tokenizer;

import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.TokenSampler;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.RealTokenizerModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several EOS ids (Llama-3, Qwen), a missing pad token, and --chat-template's refusals, on real tokenizers. */
class SpecialTokensTest {
    static final String PROMPT = "The capital of France is";

    @TempDir Path tmp;

    /** A copy of a real-tokenizer model whose generation_config.json lists {@code eos} as its EOS ids. */
    private Path withEos(String name, List<Long> eos) throws Exception {
        Path src = RealTokenizerModels.dir(name);
        Path dir = tmp.resolve(name + "-" + eos.size());
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.createSymbolicLink(dir.resolve(f), src.toAbsolutePath().resolve(f));
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode gen = (ObjectNode) json.readTree(src.resolve("generation_config.json").toFile());
        gen.set("eos_token_id", json.valueToTree(eos));
        json.writeValue(dir.resolve("generation_config.json").toFile(), gen);
        return dir;
    }

    @Test
    void generationStopsAtAnyEosAndNoneIsDrawnBeforeMinNewTokens() throws Exception {
        long first;
        try (LanguageModel m = LanguageModel.load(RealTokenizerModels.dir("llama3-llama"))) {
            assertThat(m.tokenizer().eosTokenIds()).containsExactly(128001L, 128009L);
            assertThat(m.tokenizer().padTokenId()).as("no pad token: EOS pads").isEqualTo(128001L);
            long[] ids = m.tokenizer().encodePrompt(PROMPT);
            first = Generator.generate(m, List.of(ids), GenerationOptions.greedy(1)).get(0)[0];
        }
        // make the greedy first token the second of two EOS ids
        try (LanguageModel m = LanguageModel.load(withEos("llama3-llama", List.of(128001L, first)))) {
            long[] ids = m.tokenizer().encodePrompt(PROMPT);
            long[] out = Generator.generate(m, List.of(ids), GenerationOptions.greedy(8)).get(0);
            assertThat(out).containsExactly(first);
            long[] longer = Generator.generate(m, List.of(ids), GenerationOptions.greedy(8).withMinNewTokens(4)).get(0);
            assertThat(longer.length).isGreaterThanOrEqualTo(4);
            for (int i = 0; i < 4; i++) {
                assertThat(m.tokenizer().isEos(longer[i])).as("token %d of %s", i, java.util.Arrays.toString(longer))
                        .isFalse();
            }
        }
    }

    @Test
    void samplerNeverDrawsABannedId() {
        TokenSampler s = new TokenSampler(GenerationOptions.sampling(1, 1.0, 0, 1.0, 3));
        for (int i = 0; i < 200; i++) {
            float[] logits = {5f, 5f, 0f, 4f};
            assertThat(s.next(logits, List.of(0L, 1L))).isIn(2L, 3L);
        }
    }

    @Test
    void chatTemplateRefusesAModelWithoutOne() throws Exception {
        Path dir = RealTokenizerModels.dir("mistral7b-llama");
        assertThatThrownBy(() -> LanguageModel.load(dir, LanguageModel.Options.defaults().withChatTemplate(true)))
                .isInstanceOf(IceditException.class).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("no chat_template");
    }

    @Test
    void chatTemplateRefusesAPromptThatNoLongerFits() throws Exception {
        Path dir = RealTokenizerModels.dir("qwen3-qwen2");
        try (LanguageModel m = LanguageModel.load(dir, LanguageModel.Options.defaults().withChatTemplate(true))) {
            String plain = "word ".repeat(250).strip(); // 250 tokens: fits 256 alone, not once wrapped
            assertThat(m.tokenizer().encode(plain).length).isLessThanOrEqualTo(m.config().maxPositions());
            assertThatThrownBy(() -> m.tokenizer().encodePrompt(plain)).isInstanceOf(IceditException.class)
                    .hasMessageContaining("once the chat template wraps it").hasMessageContaining("256-token context");
        }
    }

    @Test
    void subjectIsLocatedInsideAChatPrompt() throws Exception {
        Path dir = RealTokenizerModels.dir("llama3-llama");
        try (LanguageModel m = LanguageModel.load(dir, LanguageModel.Options.defaults().withChatTemplate(true))) {
            Tokenizer tok = m.tokenizer();
            String prompt = "The mother tongue of Danielle Darrieux is";
            long[] ids = tok.encodePrompt(prompt);
            int[][] spans = tok.promptTokenSpans(prompt);
            assertThat(spans.length).isEqualTo(ids.length);
            int at = prompt.indexOf("Darrieux");
            int hit = -1;
            for (int i = 0; i < spans.length; i++) {
                if (spans[i] != null && spans[i][0] <= at && spans[i][1] > at) {
                    hit = i;
                }
            }
            assertThat(hit).isPositive();
            assertThat(tok.decodeWithSpecials(new long[] {ids[hit]})).contains("D");
            assertThat(spans[0]).as("the template's own BOS").isNull();
        }
    }
}
