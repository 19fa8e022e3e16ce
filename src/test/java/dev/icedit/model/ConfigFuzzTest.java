package dev.icedit.model;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.testing.FuzzProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes the reading of a model directory's JSON files: {@code config.json} of every architecture, and a
 * tokenizer's {@code tokenizer_config.json} and {@code generation_config.json}. Any bytes are read, or refused in
 * one line naming the file. What is read must be usable: every weight shape of a config positive, every special
 * token the tokenizer puts into a sequence inside the model's vocabulary. Seeds are the golden models' files and
 * the bad values of issue 12, in src/test/resources/dev/icedit/model/ConfigFuzzTestInputs.
 */
class ConfigFuzzTest {
    /** The tokenizer and config every tokenizer-settings input is read with. */
    static final Path GOLDEN = Path.of("src/test/resources/golden/llama");
    /** A config listing more layers than this is not expanded into weight names (loading stops it earlier). */
    static final int MAX_EXPANDED_LAYERS = 256;
    @TempDir static Path dir;

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"model_type\"", "\"gpt2\"", "\"llama\"", "\"mistral\"", "\"qwen2\"", "\"hidden_size\"",
        "\"num_hidden_layers\"", "\"num_attention_heads\"", "\"num_key_value_heads\"", "\"intermediate_size\"",
        "\"vocab_size\"", "\"head_dim\"", "\"rms_norm_eps\"", "\"rope_theta\"", "\"rope_scaling\"",
        "\"rope_parameters\"", "\"rope_type\"", "\"llama3\"", "\"linear\"", "\"factor\"", "\"low_freq_factor\"",
        "\"high_freq_factor\"", "\"original_max_position_embeddings\"", "\"max_position_embeddings\"",
        "\"sliding_window\"", "\"use_sliding_window\"", "\"attention_bias\"", "\"mlp_bias\"", "\"hidden_act\"",
        "\"silu\"", "\"tie_word_embeddings\"", "\"n_embd\"", "\"n_layer\"", "\"n_head\"", "\"n_inner\"",
        "\"n_positions\"", "\"activation_function\"", "\"gelu_new\"", "\"layer_norm_epsilon\"",
        "\"add_cross_attention\"", "\"eos_token_id\"", "\"bos_token_id\"", "\"pad_token_id\"", "-1", "0",
        "2147483647", "1e-06", "null", "true"})
    void configJson(byte[] input) throws Exception {
        Path file = dir.resolve("config.json");
        Files.write(file, input);
        FuzzProperty.acceptedOrRefusedInOneLine(file, () -> {
            ModelConfig c = ModelConfig.read(file);
            if (c.numLayers() < 1 || c.hiddenSize() < 1 || c.vocabSize() < 1 || c.numHeads() < 1
                    || c.maxPositions() < 1 || c.intermediateSize() < 1) {
                throw new AssertionError("read a config with a non-positive size: " + c);
            }
            if (c.numLayers() <= MAX_EXPANDED_LAYERS) {
                for (Map.Entry<String, long[]> e : c.parameterShapes().entrySet()) {
                    if (Arrays.stream(e.getValue()).anyMatch(d -> d < 1)) {
                        throw new AssertionError(e.getKey() + " has shape " + Arrays.toString(e.getValue()));
                    }
                }
            }
        });
    }

    /**
     * The input is tokenizer_config.json, then optionally a NUL byte and generation_config.json; both are read
     * with the golden Llama's tokenizer.json and config.json.
     */
    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"bos_token\"", "\"eos_token\"", "\"pad_token\"", "\"unk_token\"", "\"add_bos_token\"",
        "\"content\"", "\"<s>\"", "\"</s>\"", "\"<unk>\"", "\"bos_token_id\"", "\"eos_token_id\"",
        "\"pad_token_id\"", "\\x00", "-1", "511", "512", "9223372036854775807", "true", "null"})
    void tokenizerSettings(byte[] input) throws Exception {
        int split = indexOf(input, (byte) 0);
        Path model = dir.resolve("tokenizer-model");
        Files.createDirectories(model);
        for (String name : new String[] {"tokenizer.json", "config.json"}) {
            if (!Files.exists(model.resolve(name))) {
                Files.copy(GOLDEN.resolve(name), model.resolve(name));
            }
        }
        Files.write(model.resolve("tokenizer_config.json"), split < 0 ? input : Arrays.copyOf(input, split));
        if (split < 0) {
            Files.deleteIfExists(model.resolve("generation_config.json"));
        } else {
            Files.write(model.resolve("generation_config.json"), Arrays.copyOfRange(input, split + 1, input.length));
        }
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        FuzzProperty.acceptedOrRefusedInOneLine(model, () -> {
            try (Tokenizer t = Tokenizer.load(model, config, false)) {
                for (long id : t.encode("The capital of France is")) {
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new AssertionError("token id " + id + " is outside the vocabulary of "
                                + config.vocabSize());
                    }
                }
                for (long id : t.eosTokenIds()) {
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new AssertionError("eos id " + id + " is outside the vocabulary");
                    }
                }
                long pad = t.padTokenId();
                if (pad < 0 || pad >= config.vocabSize()) {
                    throw new AssertionError("pad id " + pad + " is outside the vocabulary");
                }
            }
        });
    }

    private static int indexOf(byte[] a, byte b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
