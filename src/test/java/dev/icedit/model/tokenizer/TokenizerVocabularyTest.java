package dev.icedit.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tokenizer with ids past config.json's vocab_size loads (as in transformers), and text that encodes to one of
 * them is refused by the forward pass in one line naming config.json, not inside the engine.
 */
class TokenizerVocabularyTest {
    @TempDir Path tmp;

    @Test
    void anIdPastTheEmbeddingsIsRefusedByName() throws IOException {
        Path dir = tmp.resolve("llama");
        Files.createDirectories(dir);
        try (var s = Files.list(Path.of("src/test/resources/golden/llama"))) {
            for (Path p : s.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode tok = (ObjectNode) json.readTree(dir.resolve("tokenizer.json").toFile());
        long vocab = json.readTree(dir.resolve("config.json").toFile()).get("vocab_size").asLong();
        ObjectNode extra = ((ArrayNode) tok.get("added_tokens")).addObject();
        extra.put("id", vocab).put("content", "<extra>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        json.writeValue(dir.resolve("tokenizer.json").toFile(), tok);
        assertThat(Tokenizer.largestId(tok)).isEqualTo(vocab);
        try (LanguageModel m = LanguageModel.load(dir)) {
            long[] ids = m.tokenizer().encode("hello <extra>");
            assertThat(ids).contains(vocab);
            assertThatThrownBy(() -> m.logits(TokenBatch.leftPadded(List.of(ids), 0)))
                    .isInstanceOf(IceditException.class)
                    .hasMessageContaining("config.json")
                    .hasMessageContaining("token id " + vocab + " is outside the model's vocabulary (vocab_size "
                            + vocab + ")")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
    }
}
