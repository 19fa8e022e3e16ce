package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.EditPatch;
import dev.icedit.model.RandomModel;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The README's patch sequence (edit --patch --save, apply-patch --save, revert) on real saved directories whose
 * weights are stored as F32, F16 and BF16: the patch holds the values in the checkpoint's dtype, applying it gives
 * exactly the directory the edit saved, and reverting gives back the original shards byte for byte.
 */
class PatchDtypeTest {
    static final Path HPARAMS = Path.of("src/test/resources/hparams/ftm-tiny.yaml");
    @TempDir Path tmp;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void applySaveRevertIsBitExact(DType dtype) throws Exception {
        Path base = tmp.resolve("base");
        @SuppressWarnings("unchecked")
        Map<String, Object> config = new ObjectMapper().readValue(Golden.ROOT.resolve("llama/config.json").toFile(), Map.class);
        RandomModel.write(base, config, dtype, 0.2, 7, Golden.ROOT.resolve("llama"));
        Path patch = tmp.resolve("p.safetensors");
        Path edited = tmp.resolve("edited");
        ok(CliRun.of("edit", "--model", base.toString(), "--method", "FT-M", "--hparams", HPARAMS.toString(), "-p",
                "The capital of Zorland is", "-t", "Paris", "--quiet", "--patch", patch.toString(), "--save",
                edited.toString()));

        try (SafetensorsFile f = SafetensorsFile.open(patch)) {
            assertThat(f.entries()).hasSize(6); // original and edited of the three trained matrices
            long values = 0;
            for (SafetensorsFile.Entry e : f.entries().values()) {
                assertThat(e.dtype()).as(e.name()).isEqualTo(dtype);
                values += e.byteSize();
            }
            long matrix = 64L * 160 * dtype.bytes();
            assertThat(values).isEqualTo(6 * matrix);
            System.out.printf("[patch %s] %d bytes for 3 matrices of 64x160 (%d of values)%n", dtype, Files.size(patch),
                    values);
        }
        assertThat(EditPatch.metadata(patch).requests().get(0).target()).isEqualTo("Paris");

        Path applied = tmp.resolve("applied");
        ok(CliRun.of("apply-patch", "--model", base.toString(), "--patch", patch.toString(), "--save", applied.toString()));
        assertThat(Files.mismatch(edited.resolve("model.safetensors"), applied.resolve("model.safetensors")))
                .as("apply-patch saves what edit --save saved").isEqualTo(-1L);

        for (Path withEdit : new Path[] {applied, edited}) {
            Path reverted = tmp.resolve("reverted-" + withEdit.getFileName());
            ok(CliRun.of("revert", "--model", withEdit.toString(), "--patch", patch.toString(), "--save",
                    reverted.toString()));
            assertThat(Files.mismatch(base.resolve("model.safetensors"), reverted.resolve("model.safetensors")))
                    .as("revert of %s gives the original bytes", withEdit.getFileName()).isEqualTo(-1L);
        }
        // and the base has no edit to revert
        CliRun notApplied = CliRun.of("revert", "--model", base.toString(), "--patch", patch.toString(), "--save",
                tmp.resolve("x").toString());
        assertThat(notApplied.code()).isEqualTo(1);
        assertThat(notApplied.err()).contains("does not have this patch applied");
    }

    private static void ok(CliRun r) {
        assertThat(r.code()).as(r.out() + r.err()).isZero();
    }
}
