package dev.icedit.model;

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
