package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A patch whose metadata lacks a field the reader needs fails naming the file and the field, not with an NPE. */
class PatchMetadataTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path tmp;

    private static ObjectNode complete() {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", EditPatch.FORMAT);
        m.put("method", "FT-M");
        m.putObject("hyperParameters");
        m.putArray("requests").addObject().put("prompt", "p").put("target", "t");
        m.put("modelType", "llama");
        m.putArray("weights").add("model.layers.0.mlp.down_proj.weight");
        m.putObject("sha256").put("original.model.layers.0.mlp.down_proj.weight", "a")
                .put("edited.model.layers.0.mlp.down_proj.weight", "b");
        m.putArray("lossPerStep").add(1.0);
        m.put("seconds", 1.0);
        m.put("created", "2026-01-01T00:00:00Z");
        return m;
    }

    private Path patch(String name, String metadata) throws Exception {
        Path file = tmp.resolve(name + ".safetensors");
        // with a matching integrity hash, so that the checks behind it are reached
        SafetensorsWriter.write(file, List.of(), Map.of("format", "pt", "icedit_patch", metadata,
                "icedit_patch_sha256", EditPatch.sha256(metadata.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        return file;
    }

    @Test
    void patchMetadataWithoutWeightsOrModelTypeFailsNamingTheFileAndTheField() throws Exception {
        for (String field : List.of("weights", "modelType", "method", "requests", "sha256", "hyperParameters",
                "lossPerStep")) {
            ObjectNode m = complete();
            m.remove(field);
            Path file = patch("no-" + field, m.toString());
            assertThatThrownBy(() -> EditPatch.metadata(file)).as(field).isInstanceOf(IceditException.class)
                    .hasMessage(file + ": bad patch metadata: '" + field + "' is missing or null");
        }
        ObjectNode nullWeight = complete();
        nullWeight.putArray("weights").addNull();
        Path file = patch("null-weight", nullWeight.toString());
        assertThatThrownBy(() -> EditPatch.metadata(file)).hasMessageContaining("'weights' is missing or null");
    }

    @Test
    void patchMetadataThatIsNotAnObjectFailsInOneLine() throws Exception {
        for (String bad : List.of("[1, 2]", "\"text\"", "{\"format\": ", "null")) {
            Path file = patch("bad" + Math.abs(bad.hashCode()), bad);
            assertThatThrownBy(() -> EditPatch.metadata(file)).as(bad).isInstanceOf(IceditException.class)
                    .hasMessageStartingWith(file + ": ")
                    .satisfies(e -> org.assertj.core.api.Assertions.assertThat(e.getMessage()).doesNotContain("\n")
                            .doesNotContain("\\n"));
        }
    }
}
