package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rule that derives presets from a model's shape (docs/PRESETS.md) gives back every shipped preset from the
 * shape of the model it was made for, and the preset for a model is the shipped one only for those shapes.
 */
class PresetsTest {
    @TempDir Path tmp;

    /** config.json contents of the three shapes the shipped presets were made for. */
    private Map<String, Map<String, Object>> referenceShapes() throws Exception {
        Map<String, Object> gpt2xl = TinyModels.gpt2(48, 1600, 50257);
        gpt2xl.put("n_head", 25);
        gpt2xl.put("n_positions", 1024);
        Map<String, Object> llama7b = TinyModels.llama(32, 4096, 32000);
        llama7b.put("intermediate_size", 11008);
        llama7b.put("num_attention_heads", 32);
        llama7b.put("num_key_value_heads", 32);
        @SuppressWarnings("unchecked") Map<String, Object> defaultModel = new ObjectMapper()
                .readValue(Path.of("models/default/config.json").toFile(), LinkedHashMap.class);
        return Map.of("gpt2-xl", gpt2xl, "llama-2-7b", llama7b, "default-model", defaultModel);
    }

    private ModelConfig config(String name, Map<String, Object> json) throws Exception {
        Path f = tmp.resolve(name + ".json");
        new ObjectMapper().writeValue(f.toFile(), json);
        return ModelConfig.read(f);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ICE", "FT-M", "FT-L", "ROME", "MEMIT", "AlphaEdit"})
    void theRuleReproducesEveryShippedPresetFromItsModelsShape(String method) throws Exception {
        Editors.Method<?> m = Editors.method(method);
        for (Map.Entry<String, Map<String, Object>> ref : referenceShapes().entrySet()) {
            ModelConfig c = config(ref.getKey(), ref.getValue());
            Object shipped = HyperParams.preset(m.name(), ref.getKey(), m.hparamsType());
            Presets.Choice derived = Presets.derive(m, c);
            System.out.printf("[presets] %s on the %s shape: %s%n", method, ref.getKey(), derived.reason());
            assertThat(derived.source()).isEqualTo(Presets.Source.DERIVED);
            assertThat(HyperParams.asMap(derived.hyperParams())).as("%s %s", method, ref.getKey())
                    .isEqualTo(HyperParams.asMap(shipped));
            assertThat(derived.hyperParams()).isEqualTo(shipped);
            Presets.Choice chosen = Presets.forModel(method, c);
            assertThat(chosen.source()).isEqualTo(Presets.Source.SHIPPED);
            assertThat(chosen.name()).isEqualTo(ref.getKey());
        }
    }

    @Test
    void otherShapesGetDerivedPresetsPlacedByDepthAndScaledBySize() throws Exception {
        // a 2-layer and a 24-layer tiny Llama, Qwen2.5-0.5B's shape, Llama-3.2-1B's and Mistral-7B's, GPT-2 small's
        ModelConfig two = config("two", TinyModels.llama(2, 64, 512));
        ModelConfig deep = config("deep", TinyModels.llama(24, 64, 512));
        Map<String, Object> q = TinyModels.llama(24, 896, 151936);
        q.put("model_type", "qwen2");
        q.put("intermediate_size", 4864);
        q.put("num_attention_heads", 14);
        ModelConfig qwen = config("qwen", q);
        Map<String, Object> l1b = TinyModels.llama(16, 2048, 128256);
        l1b.put("intermediate_size", 8192);
        l1b.put("num_attention_heads", 32);
        l1b.put("num_key_value_heads", 8);
        ModelConfig llama1b = config("l1b", l1b);
        Map<String, Object> mis = TinyModels.llama(32, 4096, 32000);
        mis.put("model_type", "mistral");
        mis.put("intermediate_size", 14336);
        mis.put("num_attention_heads", 32);
        mis.put("num_key_value_heads", 8);
        ModelConfig mistral = config("mistral", mis);
        ModelConfig gpt2small = config("gpt2", TinyModels.gpt2(12, 768, 50257));

        assertThat(ice(two)).isEqualTo(List.of(List.of(0), 0.02, 0.02));
        assertThat(ice(deep)).isEqualTo(List.of(List.of(3, 4, 5, 6, 7), 0.02, 0.02));
        assertThat(ice(qwen)).isEqualTo(List.of(List.of(3, 4, 5, 6, 7), 8e-4, 8e-4));
        assertThat(ice(llama1b)).isEqualTo(List.of(List.of(2, 3, 4, 5, 6), 5e-4, 7e-4));
        assertThat(ice(mistral)).isEqualTo(List.of(List.of(4, 5, 6, 7, 8), 5e-4, 7e-4));
        assertThat(ice(gpt2small)).isEqualTo(List.of(List.of(2, 3, 4, 5, 6), 1e-3, 1e-3));

        assertThat(rome(two).layers()).containsExactly(1);
        assertThat(rome(deep).layers()).containsExactly(4);
        assertThat(rome(deep).mom2Adjustment()).isTrue(); // template default-model
        assertThat(rome(llama1b).layers()).containsExactly(3);
        assertThat(rome(llama1b).mom2Adjustment()).isFalse(); // template llama-2-7b
        assertThat(rome(llama1b).vLossLayer()).isEqualTo(15);
        assertThat(rome(gpt2small).layers()).containsExactly(5);
        assertThat(rome(gpt2small).vLossLayer()).isEqualTo(11);

        assertThat(memit(two).layers()).containsExactly(0);
        assertThat(memit(two).mom2UpdateWeight()).isEqualTo(63.0); // 500 * 128 / 1024, two digits
        assertThat(memit(deep).layers()).containsExactly(3, 4, 5, 6, 7);
        assertThat(memit(qwen).mom2UpdateWeight()).isEqualTo(2400.0); // 500 * 4864 / 1024
        assertThat(memit(mistral).mom2UpdateWeight()).isEqualTo(20000.0); // 15000 * 14336 / 11008
        assertThat(memit(gpt2small).layers()).containsExactly(2, 3, 4, 5);

        Presets.Choice choice = Presets.forModel("ICE", deep);
        assertThat(choice.source()).isEqualTo(Presets.Source.DERIVED);
        assertThat(choice.summary()).isEqualTo("derived: from the model's shape (Llama-like, 24 layers, MLP output"
                + " 64x128): layers 3-7, norm_constraint 0.02, lr 0.02; other keys from default-model (rule:"
                + " docs/PRESETS.md)");
    }

    @Test
    void hparamsNameAFileOrAShippedPreset() throws Exception {
        ModelConfig deep = config("deep", TinyModels.llama(24, 64, 512));
        assertThat(Presets.resolve("ice", deep, "llama-2-7b").source()).isEqualTo(Presets.Source.NAMED);
        Path yaml = tmp.resolve("mine.yaml");
        Files.writeString(yaml, HyperParams.toYaml(Presets.forModel("FT-M", deep).hyperParams(), "mine", null));
        Presets.Choice file = Presets.resolve("FT-M", deep, yaml.toString());
        assertThat(file.source()).isEqualTo(Presets.Source.FILE);
        assertThat(file.hyperParams()).isEqualTo(Presets.forModel("FT-M", deep).hyperParams());
        assertThatThrownBy(() -> Presets.resolve("ROME", deep, "gpt-j")).isInstanceOf(IceditException.class)
                .hasMessage("no preset 'gpt-j' for ROME (shipped: default-model, gpt2-xl, llama-2-7b; or give a YAML"
                        + " file)");
        assertThatThrownBy(() -> HyperParams.with(Presets.forModel("ICE", deep).hyperParams(), Map.of("lr", -1.0)))
                .isInstanceOf(IceditException.class).hasMessageContaining("lr must be a positive number");
    }

    private static List<Object> ice(ModelConfig c) {
        TuningHyperParams hp = (TuningHyperParams) Presets.forModel("ICE", c).hyperParams();
        return List.of(hp.layers(), hp.normConstraint(), hp.lr());
    }

    private static RomeHyperParams rome(ModelConfig c) {
        return (RomeHyperParams) Presets.forModel("ROME", c).hyperParams();
    }

    private static MemitHyperParams memit(ModelConfig c) {
        return (MemitHyperParams) Presets.forModel("MEMIT", c).hyperParams();
    }
}
