package dev.icedit.model;

import dev.icedit.model.config.ModelConfig;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.icedit.cli.Main;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.TinyModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad model directories and inputs fail with one line naming the file and the problem, never a crash. */
class BadInputTest {
    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    @TempDir Path tmp;
    Path good;

    @BeforeEach
    void makeModel() throws IOException {
        good = TinyModels.write(tmp.resolve("good"), TinyModels.llama(1, 16, 32), 3);
    }

    private Path copy(String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        try (var s = Files.list(good)) {
            for (Path p : s.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        return dir;
    }

    private static String failure(Path dir) {
        try {
            LanguageModel.load(dir).close();
        } catch (IceditException e) {
            assertThat(e.getMessage()).doesNotContain("\n");
            return e.getMessage();
        }
        throw new AssertionError("loading " + dir + " should have failed");
    }

    /** Writes a safetensors file with the given header JSON and data length. */
    private static void writeRaw(Path file, String header, long declaredLength, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(h);
        Files.write(file, b.array());
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = copy("noconfig");
        Files.delete(dir.resolve("config.json"));
        assertThat(failure(dir)).contains("config.json").contains("file not found");
    }

    @Test
    void missingWeights() throws IOException {
        Path dir = copy("noweights");
        Files.delete(dir.resolve("model.safetensors"));
        assertThat(failure(dir)).contains("noweights").contains("no weights");
    }

    @Test
    void unknownModelType() throws IOException {
        Path dir = copy("bert");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\", \"vocab_size\": 10}");
        assertThat(failure(dir)).contains("config.json").contains("unsupported model_type 'bert'");
    }

    @Test
    void configThatIsNotJson() throws IOException {
        Path dir = copy("badjson");
        Files.writeString(dir.resolve("config.json"), "{not json");
        assertThat(failure(dir)).contains("config.json").contains("invalid JSON");
    }

    @Test
    void truncatedHeader() throws IOException {
        Path dir = copy("truncated");
        writeRaw(dir.resolve("model.safetensors"), "{\"a\":", 1000, 0);
        assertThat(failure(dir)).contains("model.safetensors").contains("truncated safetensors header");
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path dir = copy("tiny");
        Files.write(dir.resolve("model.safetensors"), new byte[3]);
        assertThat(failure(dir)).contains("model.safetensors").contains("truncated");
    }

    @Test
    void headerTooLarge() throws IOException {
        Path dir = copy("huge");
        writeRaw(dir.resolve("model.safetensors"), "{}", 1L << 40, 0);
        assertThat(failure(dir)).contains("model.safetensors").contains("larger than the limit");
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path dir = copy("overlap");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 12);
        assertThat(failure(dir)).contains("model.safetensors").contains("overlapping");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        Path dir = copy("range");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 8);
        assertThat(failure(dir)).contains("model.safetensors").contains("run past the end");
    }

    @Test
    void dtypeAndShapeDisagreeWithOffsets() throws IOException {
        Path dir = copy("sizes");
        String h = "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 16);
        assertThat(failure(dir)).contains("model.safetensors").contains("need 8 bytes but data_offsets span 16");
    }

    @Test
    void unknownDtype() throws IOException {
        Path dir = copy("dtype");
        String h = "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 4);
        assertThat(failure(dir)).contains("unsupported dtype 'F8_E4M3'");
    }

    @Test
    void shapeWhoseElementCountOverflowsALongIsRefused() throws IOException {
        Path dir = copy("overflow");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 4);
        assertThat(failure(dir)).contains("model.safetensors").contains("tensor 'a'")
                .contains("more elements than a 64-bit count holds");
    }

    @Test
    void fractionalOrTextualShapeIsRefusedNotTruncated() throws IOException {
        for (String shape : List.of("[512.5, 1024]", "[2.0]", "[\"2\"]", "[-1]", "[1e1]")) {
            Path dir = copy("fraction" + Math.abs(shape.hashCode()));
            String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}";
            writeRaw(dir.resolve("model.safetensors"), h, h.length(), 8);
            assertThat(failure(dir)).as(shape).contains("model.safetensors").contains("bad shape")
                    .contains("non-negative integer");
        }
        Path dir = copy("offsets");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 8);
        assertThat(failure(dir)).contains("data_offsets must be [begin, end]");
    }

    @Test
    void bytesAfterTheHeaderJsonAreRefused() throws IOException {
        Path dir = copy("trailing");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}xyz";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 4);
        assertThat(failure(dir)).contains("model.safetensors").contains("not valid JSON");
        // the spaces the reference writer pads the header with are fine
        Path padded = copy("padded");
        String p = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}     ";
        writeRaw(padded.resolve("model.safetensors"), p, p.length(), 4);
        assertThat(failure(padded)).doesNotContain("JSON");
    }

    @Test
    void headerThatNamesATensorTwiceOrIsNotUtf8IsRefused() throws IOException {
        Path dir = copy("twice");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        writeRaw(dir.resolve("model.safetensors"), h, h.length(), 8);
        assertThat(failure(dir)).contains("model.safetensors").contains("Duplicate field 'a'");

        Path latin = copy("latin1");
        byte[] header = "{\"\u00e9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
                .getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Files.write(latin.resolve("model.safetensors"), b.array());
        assertThat(failure(latin)).contains("model.safetensors").contains("not valid UTF-8");

        Path meta = copy("meta");
        String m = "{\"__metadata__\":{\"format\":{\"x\":1}}}";
        writeRaw(meta.resolve("model.safetensors"), m, m.length(), 0);
        assertThat(failure(meta)).contains("__metadata__ value of 'format' is not a string");
    }

    /** A config whose sizes are not positive integers fails naming the key, for each architecture. */
    @Test
    void nonPositiveOrFractionalSizesInConfigAreRefused() throws IOException {
        Map<String, Map<String, Object>> configs = Map.of("llama", TinyModels.llama(1, 16, 32),
                "gpt2", TinyModels.gpt2(1, 16, 32));
        Map<String, List<String>> keys = Map.of(
                "llama", List.of("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                        "num_key_value_heads", "vocab_size", "max_position_embeddings", "head_dim"),
                "gpt2", List.of("n_layer", "n_embd", "n_head", "vocab_size", "n_positions", "n_inner"));
        for (String arch : configs.keySet()) {
            for (String key : keys.get(arch)) {
                for (Object bad : List.of(-1, 0, 2.5, "4")) {
                    Map<String, Object> cfg = new java.util.LinkedHashMap<>(configs.get(arch));
                    cfg.put(key, bad);
                    Path dir = tmp.resolve("cfg-" + arch + "-" + key + "-" + Math.abs(bad.hashCode()));
                    Files.createDirectories(dir);
                    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
                    assertThatThrownBy(() -> ModelConfig.read(dir.resolve("config.json"))).as(arch + " " + key + "=" + bad)
                            .isInstanceOf(IceditException.class)
                            .hasMessageStartingWith(dir.resolve("config.json").toString())
                            .hasMessageContaining("'" + key + "'")
                            .hasMessageContaining(bad instanceof Integer ? "positive integer" : "integer");
                }
            }
        }
    }

    @Test
    void negativeOrNonFiniteEpsilonsAndRopeSettingsAreRefused() throws IOException {
        List<Object[]> cases = List.of(
                new Object[] {"rms_norm_eps", -1, "rms_norm_eps", "positive number"},
                new Object[] {"rms_norm_eps", 0, "rms_norm_eps", "positive number"},
                new Object[] {"rms_norm_eps", "1e-5", "rms_norm_eps", "must be a number"},
                new Object[] {"rope_theta", -10000.0, "rope_theta", "positive number"},
                new Object[] {"rope_scaling", Map.of("rope_type", "linear", "factor", -2), "rope_scaling.factor",
                    "positive number"},
                new Object[] {"rope_parameters", Map.of("rope_theta", "big"), "rope_parameters.rope_theta",
                    "must be a number"},
                new Object[] {"rope_parameters", List.of(1), "rope_parameters", "must be an object"},
                new Object[] {"hidden_act", 7, "hidden_act", "must be a string"},
                new Object[] {"eos_token_id", List.of("</s>"), "eos_token_id", "token id"});
        for (Object[] c : cases) {
            Map<String, Object> cfg = new java.util.LinkedHashMap<>(TinyModels.llama(1, 16, 32));
            cfg.put((String) c[0], c[1]);
            Path dir = tmp.resolve("eps-" + Math.abs(java.util.Arrays.hashCode(c)));
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
            assertThatThrownBy(() -> ModelConfig.read(dir.resolve("config.json"))).as(c[0] + "=" + c[1])
                    .isInstanceOf(IceditException.class).hasMessageContaining("'" + c[2] + "'")
                    .hasMessageContaining((String) c[3]);
        }
        Map<String, Object> gpt2 = new java.util.LinkedHashMap<>(TinyModels.gpt2(1, 16, 32));
        gpt2.put("layer_norm_epsilon", -1e-5);
        Path dir = tmp.resolve("gpt2-eps");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(gpt2));
        assertThatThrownBy(() -> ModelConfig.read(dir.resolve("config.json")))
                .hasMessageContaining("'layer_norm_epsilon' must be a positive number");
    }

    @Test
    void aDefaultSizeThatOverflowsAnIntIsRefused() throws IOException {
        Map<String, Object> gpt2 = new java.util.LinkedHashMap<>(TinyModels.gpt2(1, 16, 32));
        gpt2.put("n_embd", 1 << 30); // n_inner defaults to 4 x n_embd, which wrapped around to 0
        gpt2.put("n_head", 1);
        Path dir = tmp.resolve("gpt2-inner");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(gpt2));
        assertThatThrownBy(() -> ModelConfig.read(dir.resolve("config.json")))
                .hasMessageContaining("'n_inner' is not given and its default, 4 x n_embd = 4294967296, is not a size");
    }

    @Test
    void specialTokenIdsOutsideTheVocabularyAreRefused() throws IOException {
        Path dir = copy("bos");
        Files.copy(Path.of("src/test/resources/golden/llama/tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 32, \"eos_token_id\": 2}");
        assertThatThrownBy(() -> {
            try (LanguageModel m = LanguageModel.load(dir)) {
                m.tokenizer();
            }
        }).isInstanceOf(IceditException.class).hasMessage(dir.toAbsolutePath().normalize()
                .resolve("generation_config.json") + ": bos_token_id 32 is outside the model's vocabulary of 32 tokens");
    }

    @Test
    void configNamingMoreLayersThanTheWeightsHoldFailsAtOnce() throws IOException {
        Path dir = copy("layers");
        Map<String, Object> cfg = TinyModels.llama(1, 16, 32);
        cfg.put("num_hidden_layers", 2_000_000_000);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        assertThat(failure(dir)).contains("config.json").contains("2000000000 layers but the weights hold only");
    }

    @Test
    void oddHeadDimensionIsRefusedByName() throws IOException {
        Path dir = copy("odd-head");
        Map<String, Object> cfg = TinyModels.llama(1, 16, 32);
        cfg.put("head_dim", 5);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        assertThat(failure(dir)).contains("config.json").contains("head_dim 5 is odd");
        cfg.remove("head_dim");
        cfg.put("hidden_size", 12);
        cfg.put("num_attention_heads", 4);
        cfg.put("num_key_value_heads", 4);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        assertThat(failure(dir)).contains("config.json")
                .contains("hidden_size / num_attention_heads = 3 is odd");
    }

    @Test
    void weightShapeDisagreesWithConfig() throws IOException {
        Path dir = copy("shape");
        Map<String, Object> cfg = TinyModels.llama(1, 16, 32);
        cfg.put("intermediate_size", 64);
        Files.writeString(dir.resolve("config.json"), new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(cfg));
        assertThat(failure(dir)).contains("model.safetensors").contains("has shape").contains("config.json implies");
    }

    @Test
    void missingTensor() throws IOException {
        Path dir = copy("missing");
        Map<String, Object> cfg = TinyModels.llama(2, 16, 32);
        Files.writeString(dir.resolve("config.json"), new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(cfg));
        assertThat(failure(dir)).contains("missing tensor 'model.layers.1.self_attn.q_proj.weight'");
    }

    @Test
    void promptLongerThanTheContextWindow() throws IOException {
        Path golden = Path.of("src/test/resources/golden/llama");
        try (LanguageModel m = LanguageModel.load(golden)) {
            long[] ids = new long[m.config().maxPositions() + 1];
            assertThatThrownBy(() -> Generator.generate(m, List.of(ids), GenerationOptions.greedy(1)))
                    .isInstanceOf(IceditException.class).hasMessageContaining("context window");
            assertThatThrownBy(() -> Scorer.score(m, ids, new long[] {1}))
                    .isInstanceOf(IceditException.class).hasMessageContaining("context window");
        }
    }

    @Test
    void cliReportsOneLineErrors() throws IOException {
        Path dir = copy("cli");
        Files.delete(dir.resolve("config.json"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"generate", "--model", dir.toString(), "--prompt", "hi"},
                new PrintWriter(out), new PrintWriter(err));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString().strip()).startsWith("error: ").contains("config.json: file not found")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }
}
