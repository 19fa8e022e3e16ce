package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A patch means what it says: every tensor is checked against its hash, every value for being finite, and the
 * metadata against its own hash, on apply, on revert and when only the metadata is read. Each damaged patch is
 * refused with one line naming the file, and the model is left as it was.
 */
class PatchIntegrityTest {
    static final Path LLAMA = EditTest.LLAMA;
    @TempDir Path tmp;
    Path patch;
    Path edited;

    @BeforeEach
    void writePatch() throws Exception {
        patch = tmp.resolve("edit.safetensors");
        edited = tmp.resolve("edited");
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            AppliedEdit e = new EditJournal(m).apply(EditTest.editor("FT-M", "ftm-tiny.yaml")
                    .edit(m, List.of(EditTest.FACT), EditProgress.NONE));
            EditPatch.write(patch, e, m);
            m.save(edited);
        }
    }

    private Path damaged(String name, boolean reseal, Consumer<PatchFiles> change) throws Exception {
        PatchFiles p = PatchFiles.parse(Files.readAllBytes(patch));
        change.accept(p);
        Path out = tmp.resolve(name);
        Files.write(out, p.bytes(reseal));
        return out;
    }

    /** Reading the metadata, applying to the base and reverting on the edited copy all fail; nothing changes. */
    private void refusedEverywhere(Path bad, String message) {
        assertOneLine(() -> EditPatch.metadata(bad), bad, message);
        refusedByModels(bad, message);
    }

    /** Applying to the base and reverting on the edited copy both fail with the message; nothing changes. */
    private void refusedByModels(Path bad, String message) {
        try (LanguageModel base = LanguageModel.load(LLAMA); LanguageModel copy = LanguageModel.load(edited)) {
            Map<String, java.nio.FloatBuffer> baseBefore = EditTest.snapshot(base);
            Map<String, java.nio.FloatBuffer> copyBefore = EditTest.snapshot(copy);
            assertOneLine(() -> EditPatch.apply(bad, new EditJournal(base)), bad, message);
            assertOneLine(() -> EditPatch.revert(bad, copy), bad, message);
            assertThat(EditTest.snapshot(base)).isEqualTo(baseBefore);
            assertThat(EditTest.snapshot(copy)).isEqualTo(copyBefore);
        }
    }

    static void assertOneLine(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Path file, String message) {
        assertThatThrownBy(call).isInstanceOf(IceditException.class).hasMessageStartingWith(file.toString())
                .hasMessageContaining(message).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void theGoodPatchAppliesAndReverts() {
        try (LanguageModel base = LanguageModel.load(LLAMA); LanguageModel copy = LanguageModel.load(edited)) {
            EditPatch.apply(patch, new EditJournal(base));
            assertThat(EditTest.snapshot(base)).isEqualTo(EditTest.snapshot(copy));
            EditPatch.revert(patch, copy);
            try (LanguageModel fresh = LanguageModel.load(LLAMA)) {
                assertThat(EditTest.snapshot(copy)).isEqualTo(EditTest.snapshot(fresh));
            }
        }
    }

    @Test
    void zeroedOriginalsAreRefused() throws Exception {
        Path bad = damaged("zeroed.safetensors", false, p -> p.tensors.forEach((name, t) -> {
            if (name.startsWith("original.")) {
                Arrays.fill(t.data, (byte) 0);
            }
        }));
        refusedEverywhere(bad, "does not match its SHA-256");
    }

    @Test
    void nonFiniteEditedValuesAreRefusedEvenWithMatchingHashes() throws Exception {
        Path bad = damaged("nan.safetensors", true, p -> {
            PatchFiles.Tensor t = p.tensors.get("edited." + p.patch.get("weights").get(0).asText());
            ByteBuffer.wrap(t.data).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 7, Float.NaN);
        });
        refusedEverywhere(bad, "holds NaN or infinite values");
        Path inf = damaged("inf.safetensors", true, p -> {
            PatchFiles.Tensor t = p.tensors.get("edited." + p.patch.get("weights").get(1).asText());
            ByteBuffer.wrap(t.data).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NEGATIVE_INFINITY);
        });
        refusedEverywhere(inf, "holds NaN or infinite values");
    }

    @Test
    void handEditedMetadataIsDetected() throws Exception {
        Path target = damaged("target.safetensors", false,
                p -> ((ObjectNode) p.patch.get("requests").get(0)).put("target", "London"));
        refusedEverywhere(target, "patch metadata was changed after it was written");
        Path method = damaged("method.safetensors", false, p -> p.patch.put("method", "ROME"));
        refusedEverywhere(method, "patch metadata was changed after it was written");
        Path noHash = damaged("nohash.safetensors", false, p -> p.integrity = null);
        refusedEverywhere(noHash, "has no integrity hash");
    }

    @Test
    void aChangedHeaderEntryIsDetected() throws Exception {
        // the same bytes read as another dtype or shape would be other values: the hash covers both
        Path dtype = damaged("dtype.safetensors", false, p -> p.tensors.values().iterator().next().dtype = "I32");
        refusedEverywhere(dtype, "has dtype I32; patch values are F32, F16 or BF16");
        Path shape = damaged("shape.safetensors", false, p -> {
            String w = p.patch.get("weights").get(0).asText();
            for (String prefix : List.of("original.", "edited.")) {
                PatchFiles.Tensor t = p.tensors.get(prefix + w);
                t.shape = new long[] {t.shape[1], t.shape[0]};
            }
        });
        refusedEverywhere(shape, "does not match its SHA-256");
    }

    @Test
    void truncatedAndForeignFilesAreRefused() throws Exception {
        byte[] all = Files.readAllBytes(patch);
        Path half = tmp.resolve("half.safetensors");
        Files.write(half, Arrays.copyOf(all, all.length / 2));
        refusedEverywhere(half, "");
        Path model = LLAMA.resolve("model-00001-of-00005.safetensors");
        refusedEverywhere(model, "not an icedit patch");
    }

    @Test
    void anOldFormatIsRefusedByName() throws Exception {
        Path v1 = damaged("v1.safetensors", false, p -> {
            p.patch.put("format", "icedit-patch/1");
            p.integrity = null;
        });
        refusedEverywhere(v1, "format icedit-patch/1");
        Path future = damaged("v9.safetensors", true, p -> p.patch.put("format", "icedit-patch/9"));
        refusedEverywhere(future, "unsupported patch format 'icedit-patch/9'");
    }

    @Test
    void incompleteOrInconsistentMetadataIsRefusedAfterItsHashes() throws Exception {
        refusedEverywhere(damaged("noweights.safetensors", true, p -> p.patch.remove("weights")),
                "'weights' is missing");
        refusedEverywhere(damaged("notype.safetensors", true, p -> p.patch.remove("modelType")),
                "'modelType' is missing");
        refusedEverywhere(damaged("norequests.safetensors", true, p -> p.patch.putArray("requests")),
                "names no requests");
        refusedEverywhere(damaged("emptyprompt.safetensors", true,
                p -> ((ObjectNode) p.patch.get("requests").get(0)).put("prompt", "")), "empty prompt");
        refusedEverywhere(damaged("lost.safetensors", false, p -> p.tensors.remove(p.tensors.keySet().iterator().next())),
                "lacks tensor 'original.");
        refusedEverywhere(damaged("unlisted.safetensors", true, p -> p.tensors.remove(p.tensors.keySet().iterator().next())),
                "'sha256' must name exactly");
        refusedByModels(damaged("other.safetensors", true, p -> {
            String first = p.patch.get("weights").get(0).asText();
            String other = first.replace("mlp.down_proj", "self_attn.q_proj");
            ((com.fasterxml.jackson.databind.node.ArrayNode) p.patch.get("weights")).set(0, other);
            p.tensors.put("original." + other, p.tensors.remove("original." + first));
            p.tensors.put("edited." + other, p.tensors.remove("edited." + first));
        }), "but the model's is");
        refusedByModels(damaged("gpt2.safetensors", true, p -> p.patch.put("modelType", "gpt2")),
                "patch is for a gpt2 model, not llama");
    }

    @Test
    void aPatchIsNeverWrittenOverADirectoryOrAForeignFile() throws Exception {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            AppliedEdit e = new EditJournal(m).apply(EditTest.editor("FT-M", "ftm-tiny.yaml")
                    .edit(m, List.of(EditTest.FACT), EditProgress.NONE));
            assertOneLine(() -> EditPatch.write(edited, e, m), edited.toAbsolutePath(), "is a directory");
            Path notes = Files.writeString(tmp.resolve("notes.txt"), "mine");
            assertOneLine(() -> EditPatch.write(notes, e, m), notes.toAbsolutePath(), "is not an icedit patch");
            assertThat(notes).hasContent("mine");
            EditPatch.write(notes, e, m, EditPatch.Values.STORED, true); // asked for
            assertThat(EditPatch.isPatch(notes)).isTrue();
            EditPatch.write(patch, e, m); // a patch replaces a patch
            try (var s = Files.list(tmp)) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".icedit-tmp-"));
            }
        }
    }
}
