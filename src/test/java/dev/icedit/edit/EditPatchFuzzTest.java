package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.BFloat16;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsWriter;
import dev.icedit.testing.TinyModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The patch reader under fuzzing: whatever bytes are given as a patch file, reading its metadata, applying it and
 * reverting it on two tiny models (weights stored as F32 and as BF16) gives a result or an {@link IceditException}
 * with a one-line message, never another exception, and never leaves a model changed.
 *
 * <p>The first byte of an input says how to use the rest: even, as it is; odd, "resealed" first (its hashes
 * recomputed, when it parses as a patch), so that the fuzzer also reaches the checks behind the hashes.
 *
 * <p>{@code mvn -B test} replays the seed corpus in {@code src/test/resources/dev/icedit/edit/EditPatchFuzzTestInputs}
 * (good patches for both models and the bad cases: zeroed originals, NaN edited values, edited metadata, a
 * truncated file, an old format, missing fields). To fuzz for N minutes: {@code tools/fuzz/fuzz.sh
 * EditPatchFuzzTest#patchReader N} (see docs/FUZZING.md); a finding is written into the inputs directory, and
 * replayed from then on. {@code mvn -B test -Dtest=EditPatchFuzzTest -Dicedit.writeSeeds=true}
 * writes the seeds again.
 */
class EditPatchFuzzTest {
    static final Path SEEDS = Path.of("src/test/resources/dev/icedit/edit/EditPatchFuzzTestInputs/patchReader");
    static final Path WORK = Path.of("target/fuzz/edit-patch");
    static final String WEIGHT = "model.layers.0.mlp.down_proj.weight";

    /** The two models, loaded once per JVM (fuzzing runs the test millions of times). */
    private static final class Models {
        static final List<LanguageModel> ALL = load();

        private static List<LanguageModel> load() {
            try {
                List<LanguageModel> out = new ArrayList<>();
                for (DType d : List.of(DType.F32, DType.BF16)) {
                    out.add(LanguageModel.load(writeModel(WORK.resolve(d.name().toLowerCase()), d)));
                }
                return out;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A one-layer llama with deterministic weights (from a seeded Java generator, not PyTorch's). */
    static Path writeModel(Path dir, DType dtype) throws Exception {
        Files.createDirectories(dir);
        Path config = dir.resolve("config.json");
        PatchFiles.JSON.writeValue(config.toFile(), TinyModels.llama(1, 8, 32));
        SplittableRandom random = new SplittableRandom(11);
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (Map.Entry<String, long[]> e : ModelConfig.read(config).parameterShapes().entrySet()) {
            int n = (int) Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            ByteBuffer f32 = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                f32.putFloat(e.getValue().length == 1 ? 1f : (float) (random.nextGaussian() * 0.2));
            }
            f32.flip();
            ByteBuffer bytes = dtype == DType.BF16 ? BFloat16.fromFloat32(f32) : f32;
            tensors.add(new SafetensorsWriter.Tensor(e.getKey(), dtype, e.getValue(), () -> bytes));
        }
        Path weights = dir.resolve("model.safetensors");
        Files.deleteIfExists(weights);
        SafetensorsWriter.write(weights, tensors, Map.of("format", "pt"));
        return dir;
    }

    @FuzzTest(maxDuration = "10m")
    void patchReader(byte[] input) throws Exception {
        byte[] body = input.length == 0 ? input : Arrays.copyOfRange(input, 1, input.length);
        if (input.length > 0 && (input[0] & 1) == 1) {
            body = resealed(body);
        }
        Files.createDirectories(WORK);
        Path file = WORK.resolve("input.safetensors");
        Files.write(file, body);
        for (LanguageModel model : Models.ALL) {
            exercise(file, model);
        }
    }

    private static void exercise(Path file, LanguageModel model) {
        try {
            EditPatch.metadata(file);
        } catch (IceditException e) {
            assertOneLine(file, e);
        }
        try {
            EditJournal journal = new EditJournal(model);
            AppliedEdit applied = EditPatch.apply(file, journal);
            journal.revert(applied.id(), false);
        } catch (IceditException e) {
            assertOneLine(file, e);
        }
        try {
            EditPatch.revert(file, model);
            restore(model); // it reverted something (a patch whose edited values are this model's): undo that
        } catch (IceditException e) {
            assertOneLine(file, e);
        }
        assertThat(model.modifiedWeights()).as("weights left changed").isEmpty();
    }

    private static void restore(LanguageModel model) {
        Map<String, NDArray> loaded = new LinkedHashMap<>();
        for (String n : model.modifiedWeights()) {
            loaded.put(n, model.originalWeights().get(n));
        }
        model.install(loaded).values().forEach(NDArray::close);
    }

    /** One line that names the file: not blank, no line break, starting with the file's path. */
    static void assertOneLine(Path file, IceditException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank() || m.contains("\n") || m.contains("\r") || !m.startsWith(file.toString())) {
            throw new AssertionError("not a one-line message naming " + file + ": " + m, e);
        }
    }

    /** The bytes with their hashes recomputed, when they parse as a patch; else unchanged. */
    static byte[] resealed(byte[] body) {
        try {
            return PatchFiles.parse(body).bytes(true);
        } catch (Exception | StackOverflowError notAPatch) {
            return body;
        }
    }

    // ---- the seed corpus ----

    /** The committed seeds still are what their names say (so the corpus covers the cases it is meant to). */
    @Test
    void seedsMeanWhatTheirNamesSay() throws Exception {
        Map<String, String> refusal = new LinkedHashMap<>();
        refusal.put("zeroed-originals", "does not match its SHA-256");
        refusal.put("nan-edited", "does not match its SHA-256");
        refusal.put("nan-edited-resealed", "holds NaN or infinite values");
        refusal.put("edited-metadata", "patch metadata was changed after it was written");
        refusal.put("edited-method", "patch metadata was changed after it was written");
        refusal.put("truncated", "truncated");
        refusal.put("format-1", "format icedit-patch/1");
        refusal.put("no-weights", "'weights' is missing");
        refusal.put("no-model-type", "'modelType' is missing");
        refusal.put("weights-not-a-list", "bad patch metadata");
        for (Map.Entry<String, String> e : refusal.entrySet()) {
            Path file = asFile(e.getKey());
            for (LanguageModel m : Models.ALL) {
                EditJournal journal = new EditJournal(m);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> EditPatch.apply(file, journal))
                        .as(e.getKey()).isInstanceOf(IceditException.class).hasMessageContaining(e.getValue());
            }
        }
        for (String good : List.of("good-f32", "good-bf16", "good-bf16-resealed")) {
            LanguageModel m = Models.ALL.get(good.contains("bf16") ? 1 : 0);
            EditJournal journal = new EditJournal(m);
            AppliedEdit applied = EditPatch.apply(asFile(good), journal);
            assertThat(applied.requests().get(0).target()).isEqualTo("green");
            journal.revert(applied.id(), false);
        }
    }

    private static Path asFile(String seed) throws Exception {
        byte[] input = Files.readAllBytes(SEEDS.resolve(seed));
        byte[] body = Arrays.copyOfRange(input, 1, input.length);
        Path file = WORK.resolve("seed-" + seed + ".safetensors");
        Files.createDirectories(WORK);
        Files.write(file, (input[0] & 1) == 1 ? resealed(body) : body);
        return file;
    }

    @Test
    @EnabledIfSystemProperty(named = "icedit.writeSeeds", matches = "true")
    void writeSeeds() throws Exception {
        Files.createDirectories(SEEDS);
        byte[] f32 = patchFor(Models.ALL.get(0));
        byte[] bf16 = patchFor(Models.ALL.get(1));
        seed("good-f32", false, f32);
        seed("good-bf16", false, bf16);
        seed("good-bf16-resealed", true, bf16);
        seed("zeroed-originals", false, changed(f32, p -> p.tensors.forEach((n, t) -> {
            if (n.startsWith("original.")) {
                Arrays.fill(t.data, (byte) 0);
            }
        }), false));
        Consumer<PatchFiles> nan = p -> ByteBuffer.wrap(p.tensors.get("edited." + WEIGHT).data)
                .order(ByteOrder.LITTLE_ENDIAN).putFloat(8, Float.NaN);
        seed("nan-edited", false, changed(f32, nan, false));
        seed("nan-edited-resealed", true, changed(f32, nan, true));
        seed("edited-metadata", false, changed(bf16, p -> ((ObjectNode) p.patch.get("requests").get(0))
                .put("target", "London"), false));
        seed("edited-method", false, changed(f32, p -> p.patch.put("method", "ROME"), false));
        seed("truncated", false, Arrays.copyOf(f32, f32.length / 2));
        seed("header-only", false, Arrays.copyOf(f32, 8 + (int) ByteBuffer.wrap(f32).order(ByteOrder.LITTLE_ENDIAN)
                .getLong()));
        seed("format-1", false, changed(f32, p -> {
            p.patch.put("format", "icedit-patch/1");
            p.integrity = null;
        }, false));
        seed("no-weights", true, changed(f32, p -> p.patch.remove("weights"), false));
        seed("no-model-type", true, changed(f32, p -> p.patch.remove("modelType"), false));
        seed("weights-not-a-list", true, changed(f32, p -> p.patch.put("weights", 5), false));
        seed("other-weight", true, changed(f32, p -> {
            ((ArrayNode) p.patch.get("weights")).set(0, "model.layers.0.self_attn.q_proj.weight");
            p.tensors.put("original.model.layers.0.self_attn.q_proj.weight", p.tensors.remove("original." + WEIGHT));
            p.tensors.put("edited.model.layers.0.self_attn.q_proj.weight", p.tensors.remove("edited." + WEIGHT));
        }, false));
        seed("edited-equals-original", true, changed(bf16, p -> p.tensors.get("edited." + WEIGHT).data =
                p.tensors.get("original." + WEIGHT).data.clone(), false));
        seed("empty", false, new byte[0]);
        seed("eight-zero-bytes", false, new byte[8]);
    }

    /** A valid patch of a small change to one matrix of the model. */
    static byte[] patchFor(LanguageModel model) throws Exception {
        EditJournal journal = new EditJournal(model);
        NDArray now = model.currentWeights().get(WEIGHT);
        NDArray changed = now.add(now.getManager().create(0.05f).toType(now.getDataType(), false));
        ai.djl.ndarray.NDScope.unregister(changed);
        EditResult result = new EditResult("FT-M", Map.of("lr", 0.005), List.of(EditRequest.of("The sky is", "green")),
                Map.of(WEIGHT, changed), LanguageModel.fingerprint(model.currentWeights(), List.of(WEIGHT)),
                List.of(1.5, 0.5), 0.1);
        AppliedEdit edit = journal.apply(result);
        Path out = WORK.resolve("seed.safetensors");
        Files.deleteIfExists(out);
        EditPatch.write(out, edit, model);
        journal.revert(edit.id(), false);
        return Files.readAllBytes(out);
    }

    private static byte[] changed(byte[] patch, Consumer<PatchFiles> change, boolean reseal) throws Exception {
        PatchFiles p = PatchFiles.parse(patch);
        change.accept(p);
        return p.bytes(reseal);
    }

    private static void seed(String name, boolean reseal, byte[] body) throws Exception {
        byte[] input = new byte[body.length + 1];
        input[0] = (byte) (reseal ? 1 : 0);
        System.arraycopy(body, 0, input, 1, body.length);
        Files.write(SEEDS.resolve(name), input);
    }
}
