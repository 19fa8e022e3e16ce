package dev.icedit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.icedit.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Load, save, load: same files, same tensors. Unchanged tensors are written byte for byte; changed ones in their
 * disk dtype; shard layout and names are kept; a failed save leaves the old model in place. The saved
 * directories are also kept under target/java-saved/ so that tools/golden/verify-java-saves.sh can check them
 * with transformers.
 */
class RoundTripTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral", "llama3", "llama-dynamic", "llama-linear",
            "llama-yarn", "qwen2-sw", "qwen3"})
    void unchangedModelSavesToIdenticalFiles(String name) throws IOException {
        Path src = Path.of("src/test/resources/golden", name);
        Path out = Path.of("target/java-saved", name);
        // a test output, rewritten each run: an earlier build's save (without icedit-save.json) must not block it
        ModelWriter.deleteTree(out);
        try (LanguageModel m = LanguageModel.load(src)) {
            m.save(out);
        }
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Path saved = out.resolve(f.getFileName());
                assertThat(saved).exists();
                if (f.getFileName().toString().endsWith(".safetensors") || f.getFileName().toString().endsWith(".json")
                        && !f.getFileName().toString().equals(WeightFiles.INDEX)) {
                    assertThat(Files.mismatch(f, saved)).as("bytes of %s", f.getFileName()).isEqualTo(-1L);
                }
            }
        }
        try (LanguageModel a = LanguageModel.load(src); LanguageModel b = LanguageModel.load(out)) {
            for (String n : a.currentWeights().names()) {
                assertThat(b.currentWeights().get(n).contentEquals(a.currentWeights().get(n))).as(n).isTrue();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "mistral", "llama"})
    void changedTensorIsWrittenInItsDiskDtypeAndOthersAreUntouched(String name) throws IOException {
        Path src = Path.of("src/test/resources/golden", name);
        Path out = tmp.resolve("out");
        String changed;
        float[] expected;
        try (LanguageModel m = LanguageModel.load(src)) {
            changed = m.config().mlpOutputWeight(1);
            NDArray w = m.currentWeights().get(changed).add(0.01f);
            m.install(Map.of(changed, w));
            expected = w.toFloatArray();
            assertThat(m.modifiedWeights()).containsExactly(changed);
            m.save(out);
        }
        try (LanguageModel m = LanguageModel.load(src); LanguageModel saved = LanguageModel.load(out)) {
            float[] got = saved.currentWeights().get(changed).toFloatArray();
            double tolerance = m.diskDTypes().get(changed).bytes() == 4 ? 0 : 1e-2;
            for (int i = 0; i < got.length; i++) {
                assertThat((double) Math.abs(got[i] - expected[i])).isLessThanOrEqualTo(tolerance * Math.abs(expected[i]) + 1e-7);
            }
            assertThat(saved.diskDTypes()).isEqualTo(m.diskDTypes());
            for (String n : m.currentWeights().names()) {
                if (!n.equals(changed)) {
                    assertThat(rawBytes(out, saved, n)).as(n).isEqualTo(rawBytes(src, m, n));
                }
            }
        }
    }

    private static ByteBuffer rawBytes(Path dir, LanguageModel m, String name) {
        String disk = m.diskNames().get(name);
        SafetensorsFile f = m.files().fileOf(disk);
        return f.map(f.entry(disk));
    }

    @Test
    void failedSaveLeavesTheOldModelInPlace() throws IOException {
        Path src = Path.of("src/test/resources/golden/llama");
        Path target = tmp.resolve("target");
        try (LanguageModel m = LanguageModel.load(src)) {
            m.save(target);
            String name = m.config().mlpOutputWeight(0);
            NDArray broken = m.currentWeights().get(name).add(1f);
            m.install(Map.of(name, broken));
            broken.close(); // reading it during the save fails half-way through the shards
            assertThatThrownBy(() -> m.save(target)).isInstanceOf(RuntimeException.class);
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("target");
        }
        try (LanguageModel a = LanguageModel.load(src); LanguageModel b = LanguageModel.load(target)) {
            for (String n : a.currentWeights().names()) {
                assertThat(b.currentWeights().get(n).contentEquals(a.currentWeights().get(n))).as(n).isTrue();
            }
        }
    }

    @Test
    void saveOverItsOwnDirectory() throws IOException {
        Path dir = tmp.resolve("self");
        try (LanguageModel m = LanguageModel.load(Path.of("src/test/resources/golden/gpt2"))) {
            m.save(dir);
        }
        float[] expected;
        String name;
        try (LanguageModel m = LanguageModel.load(dir)) {
            name = m.config().mlpOutputWeight(2);
            NDArray w = m.currentWeights().get(name).mul(2f);
            expected = w.toFloatArray();
            m.install(Map.of(name, w));
            m.save(dir);
            // the loaded tensors alias the old files; they must still read correctly after the replacement
            assertThat(m.currentWeights().get("transformer.wte.weight").toFloatArray()).hasSize(512 * 64);
        }
        try (LanguageModel m = LanguageModel.load(dir)) {
            assertThat(m.currentWeights().get(name).toFloatArray()).containsExactly(expected);
        }
    }
}
