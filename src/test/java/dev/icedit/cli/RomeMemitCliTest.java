package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.Golden;
import dev.icedit.testing.TestCorpus;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ROME and MEMIT through the command line on the tiny golden llama, as a user runs them: edit with a patch and a
 * saved copy, then revert the saved copy with the patch (bit-exact to the original) and apply the patch to the
 * original (bit-exact to the saved copy).
 */
class RomeMemitCliTest {
    static final Path MODEL = Golden.ROOT.resolve("llama");
    @TempDir Path tmp;
    Path corpus;

    @BeforeEach
    void corpus() throws Exception {
        corpus = TestCorpus.write(tmp.resolve("corpus"), 4, 300, 5);
    }

    private Path yaml(String name, String body) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, body + "\nmom2_dataset: " + corpus + "\nmom2_n_samples: 32\nstats_dir: "
                + tmp.resolve("stats") + "\n");
        return f;
    }

    @Test
    void romeEditPatchAndRevertRoundTrip() throws Exception {
        Path hp = yaml("rome.yaml", """
                alg_name: ROME
                layers: [1]
                v_num_grad_steps: 12
                v_lr: 0.5
                v_weight_decay: 0.001
                clamp_norm_factor: 4
                kl_factor: 0.0625
                mom2_adjustment: true
                context_template_length_params: [[4, 3]]""");
        CliRun edit = CliRun.of("edit", "--model", MODEL.toString(), "--method", "ROME", "--prompt",
                "The Eiffel Tower is located in", "--target", "Rome", "--subject", "eiffel tower", "--hparams",
                hp.toString(), "--patch", tmp.resolve("rome.patch").toString(), "--save", tmp.resolve("edited").toString(),
                "--json");
        assertThat(edit.code()).as(edit.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(edit.out());
        assertThat(report.path("method").asText()).isEqualTo("ROME");
        JsonNode stats = report.path("hyper_parameters").path("mom2_stats").get(0);
        assertThat(stats.path("layer").asInt()).isEqualTo(1);
        assertThat(stats.path("tokens").asLong()).isGreaterThan(160);
        assertThat(stats.path("cached").asBoolean()).isFalse();
        JsonNode row = report.path("requests").get(0);
        assertThat(row.path("after").path("target_probability").asDouble())
                .isGreaterThan(row.path("before").path("target_probability").asDouble());
        assertThat(report.path("weights").toString()).isEqualTo("[\"model.layers.1.mlp.down_proj.weight\"]");

        roundTrip("rome.patch", "model.layers.1.mlp.down_proj.weight");

        // a second edit reads the statistics from the cache
        CliRun again = CliRun.of("edit", "--model", MODEL.toString(), "--method", "ROME", "--prompt",
                "The Eiffel Tower is located in", "--target", "Rome", "--subject", "Eiffel Tower", "--hparams",
                hp.toString(), "--json");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(new ObjectMapper().readTree(again.out()).path("hyper_parameters").path("mom2_stats").get(0)
                .path("cached").asBoolean()).isTrue();
    }

    @Test
    void memitBatchEditPatchAndRevertRoundTrip() throws Exception {
        Path hp = yaml("memit.yaml", """
                alg_name: MEMIT
                layers: [0, 1]
                v_num_grad_steps: 12
                v_lr: 0.5
                v_weight_decay: 0.001
                clamp_norm_factor: 4
                kl_factor: 0.0625
                mom2_update_weight: 100
                context_template_length_params: [[4, 3]]""");
        Path requests = tmp.resolve("requests.json");
        Files.writeString(requests, """
                [{"prompt": "The Eiffel Tower is located in", "target": "Rome", "subject": "Eiffel Tower"},
                 {"prompt": "Danielle Darrieux speaks", "target": "English", "subject": "Danielle Darrieux"}]""");
        CliRun edit = CliRun.of("edit", "--model", MODEL.toString(), "--method", "MEMIT", "--requests", requests.toString(),
                "--hparams", hp.toString(), "--patch", tmp.resolve("memit.patch").toString(), "--save",
                tmp.resolve("edited").toString(), "--json");
        assertThat(edit.code()).as(edit.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(edit.out());
        assertThat(report.path("method").asText()).isEqualTo("MEMIT");
        assertThat(report.path("hyper_parameters").path("mom2_stats")).hasSize(2);
        for (JsonNode row : report.path("requests")) {
            assertThat(row.path("after").path("target_probability").asDouble())
                    .isGreaterThan(row.path("before").path("target_probability").asDouble());
        }
        roundTrip("memit.patch", "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight");
    }

    @Test
    void missingOrAbsentSubjectsAreCleanErrors() throws Exception {
        Path hp = yaml("rome.yaml", """
                alg_name: ROME
                layers: [1]
                v_num_grad_steps: 2
                v_lr: 0.5
                v_weight_decay: 0.001
                clamp_norm_factor: 4
                kl_factor: 0.0625
                mom2_adjustment: false""");
        CliRun none = CliRun.of("edit", "--model", MODEL.toString(), "--method", "ROME", "--prompt", "The capital of France is",
                "--target", "Rome", "--hparams", hp.toString(), "--quiet");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err().strip()).startsWith("error: ROME needs the subject").doesNotContain("Exception");
        CliRun absent = CliRun.of("edit", "--model", MODEL.toString(), "--method", "MEMIT", "--prompt",
                "The capital of France is", "--target", "Rome", "--subject", "Spain", "--hparams",
                yaml("memit.yaml", "alg_name: MEMIT\nlayers: [1]\nv_num_grad_steps: 2\nv_lr: 0.5\nv_weight_decay: 0"
                        + "\nclamp_norm_factor: 4\nkl_factor: 0.0625\nmom2_update_weight: 100").toString(), "--quiet");
        assertThat(absent.code()).isEqualTo(1);
        assertThat(absent.err().strip()).isEqualTo("error: subject 'Spain' does not occur in the prompt 'The capital"
                + " of France is' (matched ignoring case); ROME and MEMIT edit at the subject's tokens, so the prompt"
                + " must name it");
        CliRun unknownKey = CliRun.of("edit", "--model", MODEL.toString(), "--method", "ROME", "--prompt", "a b", "--target",
                "c", "--subject", "a", "--hparams", yaml("bad.yaml", "alg_name: ROME\nlayers: [1]\nv_num_grad_steps: 2"
                + "\nv_lr: 0.5\nv_weight_decay: 0\nclamp_norm_factor: 4\nkl_factor: 0.0625\nmom2_adjustment: false"
                + "\nrewrite_module_tmp: model.layers.{}.mlp.down_proj").toString());
        assertThat(unknownKey.code()).isEqualTo(1);
        assertThat(unknownKey.err()).contains("unknown key 'rewrite_module_tmp'");
        CliRun list = CliRun.of("edit", "--list-methods");
        assertThat(list.out()).contains("ROME").contains("MEMIT");
    }

    /** Revert the saved copy (must equal the original) and apply the patch to the original (must equal the copy). */
    private void roundTrip(String patch, String... changed) throws Exception {
        Map<String, ByteBuffer> original = tensors(MODEL);
        Map<String, ByteBuffer> edited = tensors(tmp.resolve("edited"));
        assertThat(edited.keySet()).isEqualTo(original.keySet());
        for (String name : original.keySet()) {
            boolean isChanged = java.util.Arrays.asList(changed).contains(name.substring(0, name.indexOf('|')));
            assertThat(edited.get(name).equals(original.get(name))).as(name).isEqualTo(!isChanged);
        }
        CliRun revert = CliRun.of("revert", "--model", tmp.resolve("edited").toString(), "--patch", tmp.resolve(patch).toString(),
                "--save", tmp.resolve("reverted").toString());
        assertThat(revert.code()).as(revert.err()).isZero();
        assertThat(tensors(tmp.resolve("reverted"))).isEqualTo(original);
        CliRun apply = CliRun.of("apply-patch", "--model", MODEL.toString(), "--patch", tmp.resolve(patch).toString(), "--save",
                tmp.resolve("applied").toString());
        assertThat(apply.code()).as(apply.err()).isZero();
        assertThat(tensors(tmp.resolve("applied"))).isEqualTo(edited);
    }

    /** Every tensor of a model directory by name, as the bytes stored (shards merged). */
    static Map<String, ByteBuffer> tensors(Path dir) throws Exception {
        Map<String, ByteBuffer> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors") && p.getFileName().toString()
                    .startsWith("model")).toList()) {
                try (SafetensorsFile s = SafetensorsFile.open(f)) {
                    for (SafetensorsFile.Entry e : s.entries().values()) {
                        ByteBuffer src = s.map(e);
                        ByteBuffer copy = ByteBuffer.allocate(src.remaining());
                        copy.put(src.duplicate()).flip();
                        out.put(e.name() + "|" + e.dtype() + "|" + java.util.Arrays.toString(e.shape()), copy);
                    }
                }
            }
        }
        return out;
    }
}
