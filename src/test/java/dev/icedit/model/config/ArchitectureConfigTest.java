package dev.icedit.model.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.TinyModels;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * config.json's architecture keys as transformers 5 reads them: rope settings in both spellings, Qwen3's defaults,
 * which layers slide, and clean one-line errors for what icedit does not run.
 */
class ArchitectureConfigTest {
    @TempDir Path tmp;

    private ModelConfig read(Map<String, Object> json) throws Exception {
        Path f = tmp.resolve("config.json");
        new ObjectMapper().writeValue(f.toFile(), json);
        return ModelConfig.read(f);
    }

    private Map<String, Object> llama() {
        return TinyModels.llama(4, 64, 512);
    }

    @Test
    void ropeScalingInEitherSpellingAndTheThetaTransformersWouldUse() throws Exception {
        Map<String, Object> old = llama();
        old.put("rope_theta", 500000.0);
        old.put("rope_scaling", Map.of("type", "linear", "factor", 2.0));
        LlamaConfig a = (LlamaConfig) read(old);
        assertThat(a.rope().type()).isEqualTo("linear");
        assertThat(a.rope().theta()).isEqualTo(500000.0);
        Map<String, Object> v5 = llama();
        v5.remove("rope_theta");
        v5.put("rope_parameters", Map.of("rope_type", "llama3", "rope_theta", 500000.0, "factor", 32.0,
                "low_freq_factor", 1.0, "high_freq_factor", 4.0, "original_max_position_embeddings", 8192));
        LlamaConfig b = (LlamaConfig) read(v5);
        assertThat(b.rope().type()).isEqualTo("llama3");
        assertThat(b.rope().originalMaxPositions()).isEqualTo(8192);
        // a non-empty rope_scaling wins over rope_parameters, as in transformers' convert_rope_params_to_dict
        v5.put("rope_scaling", Map.of("rope_type", "dynamic", "factor", 2.0));
        assertThat(((LlamaConfig) read(v5)).rope().type()).isEqualTo("dynamic");
        // dynamic NTK runs beyond max_position_embeddings: its context window is that times the factor
        assertThat(read(v5).maxPositions()).isEqualTo(512);
    }

    @Test
    void unsupportedOrIncompleteRopeSettingsAreOneLineErrors() throws Exception {
        Map<String, Object> c = llama();
        c.put("rope_scaling", Map.of("rope_type", "longrope", "short_factor", List.of(1.0), "long_factor", List.of(1.0)));
        assertThatThrownBy(() -> read(c)).isInstanceOf(IceditException.class)
                .hasMessage(tmp.resolve("config.json") + ": rope_scaling: unsupported rope type 'longrope' (supported:"
                        + " default, linear, dynamic, yarn, llama3)");
        c.put("rope_scaling", Map.of("rope_type", "llama3", "factor", 8.0));
        assertThatThrownBy(() -> read(c)).hasMessageEndingWith("rope_scaling of type 'llama3' lacks 'low_freq_factor'");
        c.put("rope_scaling", Map.of("type", "yarn", "factor", "four"));
        assertThatThrownBy(() -> read(c)).hasMessageEndingWith("key 'rope_scaling.factor' must be a number, found \"four\"");
        c.remove("rope_scaling");
        c.put("partial_rotary_factor", 0.5);
        assertThatThrownBy(() -> read(c)).hasMessageContaining("partial_rotary_factor 0.5 is not supported");
    }

    @Test
    void qwen3DefaultsAndWhichLayersSlide() throws Exception {
        Map<String, Object> q = TinyModels.qwen3(4, 64, 512);
        q.remove("head_dim");
        LlamaConfig c = (LlamaConfig) read(q);
        assertThat(c.headDim()).isEqualTo(128); // Qwen3Config's default, not hidden / heads
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.parameterShapes()).containsKey("model.layers.0.self_attn.q_norm.weight")
                .doesNotContainKey("model.layers.0.self_attn.q_proj.bias");
        // use_sliding_window with max_window_layers: layers from 2 on slide
        q.put("use_sliding_window", true);
        q.put("sliding_window", 16);
        q.put("max_window_layers", 2);
        c = (LlamaConfig) read(q);
        assertThat(c.layerTypes()).containsExactly("full_attention", "full_attention", "sliding_attention",
                "sliding_attention");
        assertThat(c.windowOf(1)).isNull();
        assertThat(c.windowOf(3)).isEqualTo(16);
        assertThat(c.features().get("sliding_window")).isEqualTo("16 tokens on layers 2-3");
        // an explicit layer_types wins; without use_sliding_window the window key is ignored
        q.put("layer_types", List.of("sliding_attention", "full_attention", "sliding_attention", "full_attention"));
        assertThat(((LlamaConfig) read(q)).features().get("sliding_window")).isEqualTo("16 tokens on layers 0, 2");
        q.put("use_sliding_window", false);
        assertThatThrownBy(() -> read(q)).hasMessageEndingWith("layer_types names sliding_attention layers but there"
                + " is no window (use_sliding_window is false or sliding_window is null)");
        q.put("layer_types", List.of("full_attention"));
        assertThatThrownBy(() -> read(q)).hasMessageContaining("layer_types must list one attention type per layer (4)");
        // Mistral slides on every layer; Llama never
        Map<String, Object> m = llama();
        m.put("model_type", "mistral");
        m.put("sliding_window", 8);
        assertThat(((LlamaConfig) read(m)).windowOf(0)).isEqualTo(8);
        m.put("model_type", "llama");
        assertThat(((LlamaConfig) read(m)).windowOf(0)).isNull();
    }

    @Test
    void inspectListsTheFeatures() throws Exception {
        Map<String, Object> c = new LinkedHashMap<>(llama());
        c.put("tie_word_embeddings", true);
        c.put("rope_parameters", Map.of("rope_type", "yarn", "rope_theta", 10000.0, "factor", 4.0,
                "original_max_position_embeddings", 64));
        Map<String, Object> f = read(c).features();
        assertThat(f).containsEntry("head_dim", 16).containsEntry("tied_embeddings", true)
                .containsEntry("sliding_window", "none").containsEntry("qk_norm", false);
        assertThat(f.get("rope").toString()).isEqualTo("{type=yarn, theta=10000.0, factor=4.0,"
                + " original_max_position_embeddings=64, attention_scaling=1.1386294}");
    }
}
