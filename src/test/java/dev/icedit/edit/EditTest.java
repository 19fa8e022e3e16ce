package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.ProcessMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** ICE, FT-M and FT-L on a tiny real model: edits take, revert is bit-exact, patches round-trip, bad input fails. */
class EditTest {
    static final Path LLAMA = Path.of("src/test/resources/golden/llama");
    static final EditRequest FACT = EditRequest.of("The capital of Zorland is", "Paris");
    @TempDir Path tmp;

    static Editor editor(String method, String file) {
        return Editors.method(method).create(HyperParams.load(Path.of("src/test/resources/hparams", file),
                TuningHyperParams.class));
    }

    static String greedy(LanguageModel m, String prompt, int tokens) {
        return m.tokenizer().decode(Generator.generate(m, List.of(m.tokenizer().encode(prompt)),
                GenerationOptions.greedy(tokens)).get(0));
    }

    @ParameterizedTest
    @CsvSource({"ICE, ice-tiny.yaml", "FT-M, ftm-tiny.yaml", "FT-L, ftl-tiny.yaml"})
    void editMakesTheTargetTheAnswerAndRevertRestoresEveryBit(String method, String file) {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            Map<String, java.nio.FloatBuffer> before = snapshot(m);
            String answerBefore = greedy(m, FACT.prompt(), 1);
            EditJournal journal = new EditJournal(m);
            EditResult r = editor(method, file).edit(m, List.of(FACT), EditProgress.NONE);
            assertThat(r.lossPerStep()).hasSize(10);
            assertThat(snapshot(m)).as("edit() leaves the model as it was").isEqualTo(before);
            AppliedEdit e = journal.apply(r);
            assertThat(greedy(m, FACT.prompt(), 1)).isEqualTo(" Paris").isNotEqualTo(answerBefore);
            assertThat(e.weightNames()).containsExactly("model.layers.0.mlp.down_proj.weight",
                    "model.layers.1.mlp.down_proj.weight", "model.layers.2.mlp.down_proj.weight");
            journal.revert(e.id(), false);
            assertThat(snapshot(m)).isEqualTo(before);
            assertThat(greedy(m, FACT.prompt(), 1)).isEqualTo(answerBefore);
        }
    }

    @Test
    void clampKeepsEveryDeltaWithinEpsilon() {
        try (LanguageModel m = LanguageModel.load(LLAMA); NDManager manager = m.manager().newSubManager()) {
            EditResult r = editor("ICE", "ice-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE);
            Map<String, NDArray> deltas = r.deltas(m.currentWeights(), manager);
            assertThat(deltas.keySet()).isEqualTo(r.newWeights().keySet());
            for (Map.Entry<String, NDArray> e : deltas.entrySet()) {
                float[] delta = e.getValue().toFloatArray();
                float[] now = r.newWeights().get(e.getKey()).toFloatArray();
                float[] orig = m.currentWeights().get(e.getKey()).toFloatArray();
                double maxDelta = 0;
                for (int i = 0; i < delta.length; i++) {
                    assertThat(delta[i]).isEqualTo(now[i] - orig[i]);
                    maxDelta = Math.max(maxDelta, Math.abs(delta[i]));
                }
                assertThat(maxDelta).as(e.getKey()).isLessThanOrEqualTo(5e-2 + 1e-6).isGreaterThan(1e-3);
            }
            r.close();
        }
    }

    /** A request whose passes would not fit the context window is refused before any step, by length. */
    @ParameterizedTest
    @CsvSource({"ICE, ice-tiny.yaml", "FT-M, ftm-tiny.yaml"})
    void editsLongerThanTheContextWindowAreRefusedBeforeTheyStart(String method, String file) {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            Editor e = editor(method, file);
            EditRequest fits = new EditRequest("The capital of Zorland is", "Quenyan", null, List.of());
            e.check(m, List.of(fits));
            // ICE's pass with context also holds the default context (prompt and target again) and a phrase
            String words = "very ".repeat(method.equals("ICE") ? 40 : 200);
            EditRequest tooLong = new EditRequest("The " + words + "capital of Zorland is", "Quenyan", null, List.of());
            if (method.equals("ICE")) { // the prompt alone fits the 128-token window; the pass with context does not
                assertThat(m.tokenizer().encode(tooLong.prompt()).length).isLessThan(128);
            }
            assertThatThrownBy(() -> e.check(m, List.of(fits, tooLong))).isInstanceOf(IceditException.class)
                    .hasMessageContaining("request 2: " + method + " would run a sequence of")
                    .hasMessageContaining("longer than the model's 128-token context window");
        }
    }

    @Test
    void editsAreReproducibleWithTheSameSeed() {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            EditResult a = editor("ICE", "ice-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE);
            EditResult b = editor("ICE", "ice-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE);
            assertThat(a.lossPerStep()).isEqualTo(b.lossPerStep());
            for (String n : a.newWeights().keySet()) {
                assertThat(a.newWeights().get(n).contentEquals(b.newWeights().get(n))).isTrue();
            }
            a.close();
            b.close();
        }
    }

    @Test
    void samplingPassGivesTheSameLossAsTheDefinition() {
        // The dynamic-target path reads p for y from the sampling pass; with the same y, the teacher-forced
        // definition must give the same loss.
        try (LanguageModel m = LanguageModel.load(LLAMA); NDScope scope = new NDScope()) {
            var tok = m.tokenizer();
            List<IceObjective.Row> rows = List.of(
                    new IceObjective.Row(tok.encode("Fact: Alice works as a pilot. Now: Alice works as a"),
                            tok.encode("Alice works as a"), tok.encodeText(" pilot"), new long[] {300, 257, 411}),
                    new IceObjective.Row(tok.encode("The capital of Zorland is Paris. Now: The capital of Zorland is"),
                            tok.encode("The capital of Zorland is"), tok.encodeText(" Paris"), new long[] {350, 280, 5}));
            double teacherForced = IceObjective.lossForKnownCompletions(m, m.currentWeights(), rows).mean().getFloat();
            double viaCache = IceObjective.lossWithCachedContextPass(m, m.currentWeights(), rows).mean().getFloat();
            assertThat(viaCache).isCloseTo(teacherForced, org.assertj.core.data.Offset.offset(1e-3 * teacherForced));
        }
    }

    @Test
    void patchAppliesToAFreshLoadAndRevertsBitForBit() throws Exception {
        Path patch = tmp.resolve("edit.safetensors");
        Map<String, java.nio.FloatBuffer> edited;
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            EditJournal j = new EditJournal(m);
            AppliedEdit e = j.apply(editor("ICE", "ice-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE));
            EditPatch.write(patch, e, m);
            edited = snapshot(m);
            m.save(tmp.resolve("edited"));
        }
        EditPatch.Metadata meta = EditPatch.metadata(patch);
        assertThat(meta.method()).isEqualTo("ICE");
        assertThat(meta.requests()).containsExactly(FACT);
        try (LanguageModel fresh = LanguageModel.load(LLAMA)) {
            Map<String, java.nio.FloatBuffer> original = snapshot(fresh);
            EditJournal j = new EditJournal(fresh);
            AppliedEdit applied = EditPatch.apply(patch, j);
            assertThat(snapshot(fresh)).isEqualTo(edited);
            assertThat(greedy(fresh, FACT.prompt(), 1)).isEqualTo(" Paris");
            j.revert(applied.id(), false);
            assertThat(snapshot(fresh)).isEqualTo(original);
        }
        // the saved edited model reverts through the patch to the original bytes
        try (LanguageModel saved = LanguageModel.load(tmp.resolve("edited"))) {
            EditPatch.revert(patch, saved);
            saved.save(tmp.resolve("reverted"));
        }
        for (int i = 1; i <= 5; i++) {
            String shard = String.format("model-%05d-of-00005.safetensors", i);
            assertThat(Files.mismatch(LLAMA.resolve(shard), tmp.resolve("reverted").resolve(shard))).isEqualTo(-1L);
        }
    }

    @Test
    void patchIsRefusedOnADifferentBase() throws Exception {
        Path patch = tmp.resolve("edit.safetensors");
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            AppliedEdit e = new EditJournal(m).apply(editor("FT-M", "ftm-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE));
            EditPatch.write(patch, e, m);
            // applying it again on top of itself is applying it to a different base
            assertThatThrownBy(() -> EditPatch.apply(patch, new EditJournal(m)))
                    .isInstanceOf(IceditException.class).hasMessageContaining("different base weights");
        }
        try (LanguageModel gpt2 = LanguageModel.load(Path.of("src/test/resources/golden/gpt2"))) {
            assertThatThrownBy(() -> EditPatch.apply(patch, new EditJournal(gpt2)))
                    .isInstanceOf(IceditException.class).hasMessageContaining("llama model, not gpt2");
        }
    }

    @Test
    void journalRefusesToRevertUnderALaterEditUnlessCascading() {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            Map<String, java.nio.FloatBuffer> original = snapshot(m);
            EditJournal j = new EditJournal(m);
            AppliedEdit first = j.apply(editor("FT-M", "ftm-tiny.yaml").edit(m, List.of(FACT), EditProgress.NONE));
            AppliedEdit second = j.apply(editor("FT-M", "ftm-tiny.yaml").edit(m,
                    List.of(EditRequest.of("Alice works as a", "pilot")), EditProgress.NONE));
            assertThatThrownBy(() -> j.revert(first.id(), false)).isInstanceOf(IceditException.class)
                    .hasMessageContaining(second.id());
            assertThat(j.revert(first.id(), true)).containsExactly(second.id(), first.id());
            assertThat(snapshot(m)).isEqualTo(original);
            assertThat(j.edits()).isEmpty();
        }
    }

    @Test
    void badRequestsAndHyperParametersFailCleanly() throws Exception {
        assertThatThrownBy(() -> EditRequest.of("", "x")).isInstanceOf(IceditException.class).hasMessageContaining("empty prompt");
        assertThatThrownBy(() -> EditRequest.of("p", " ")).isInstanceOf(IceditException.class).hasMessageContaining("empty target");
        assertThatThrownBy(() -> Editors.method("ROMEO")).isInstanceOf(IceditException.class).hasMessageContaining("unknown method 'ROMEO'");
        Path unknownKey = tmp.resolve("bad.yaml");
        Files.writeString(unknownKey, Files.readString(Path.of("src/test/resources/hparams/ice-tiny.yaml")) + "learning_rate: 1\n");
        assertThatThrownBy(() -> HyperParams.load(unknownKey, TuningHyperParams.class))
                .isInstanceOf(IceditException.class).hasMessageContaining("unknown key 'learning_rate'");
        Path missingLayer = tmp.resolve("layer.yaml");
        Files.writeString(missingLayer, Files.readString(Path.of("src/test/resources/hparams/ice-tiny.yaml"))
                .replace("layers: [0, 1, 2]", "layers: [0, 7]"));
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            Editor e = Editors.method("ICE").create(HyperParams.load(missingLayer, TuningHyperParams.class));
            assertThatThrownBy(() -> e.edit(m, List.of(FACT), EditProgress.NONE))
                    .isInstanceOf(IceditException.class).hasMessageContaining("layer 7").hasMessageContaining("3 layers");
        }
        Path wrongObjective = tmp.resolve("obj.yaml");
        Files.writeString(wrongObjective, Files.readString(Path.of("src/test/resources/hparams/ftm-tiny.yaml")));
        assertThatThrownBy(() -> Editors.create("ICE", null, wrongObjective.toString()))
                .isInstanceOf(IceditException.class).hasMessageContaining("objective 'target_new'");
    }

    @Test
    void divergingLossStopsTheEditAndLeavesTheModelUntouched() throws Exception {
        Path hot = tmp.resolve("hot.yaml");
        Files.writeString(hot, Files.readString(Path.of("src/test/resources/hparams/ftm-tiny.yaml"))
                .replace("lr: 5.0e-3", "lr: 1.0e+38").replace("norm_constraint: 5.0e-2", "norm_constraint: 1.0e+38"));
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            Map<String, java.nio.FloatBuffer> before = snapshot(m);
            Editor e = Editors.method("FT-M").create(HyperParams.load(hot, TuningHyperParams.class));
            assertThatThrownBy(() -> e.edit(m, List.of(FACT), EditProgress.NONE))
                    .isInstanceOf(IceditException.class).hasMessageContaining("loss became").hasMessageContaining("not applied");
            assertThat(snapshot(m)).isEqualTo(before);
        }
    }

    @Test
    void repeatedEditsDoNotLeakNativeArrays() {
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            EditJournal j = new EditJournal(m);
            Editor ice = editor("ICE", "ice-tiny.yaml");
            j.revert(j.apply(ice.edit(m, List.of(FACT), EditProgress.NONE)).id(), false);
            int arrays = m.manager().getManagedArrays().size();
            long rss = ProcessMemory.rss();
            for (int i = 0; i < 20; i++) {
                j.revert(j.apply(ice.edit(m, List.of(FACT), EditProgress.NONE)).id(), false);
            }
            System.out.printf("[memory] 20 ICE edit/revert cycles: live arrays %d -> %d, resident %.1f -> %.1f MB%n",
                    arrays, m.manager().getManagedArrays().size(), rss / 1e6, ProcessMemory.rss() / 1e6);
            assertThat(m.manager().getManagedArrays().size()).isEqualTo(arrays);
        }
    }

    /** Every weight's values; FloatBuffer equality compares contents, so two snapshots compare bit for bit. */
    static Map<String, java.nio.FloatBuffer> snapshot(LanguageModel m) {
        Weights w = m.currentWeights();
        Map<String, java.nio.FloatBuffer> out = new java.util.TreeMap<>();
        for (String n : w.names()) {
            out.put(n, java.nio.FloatBuffer.wrap(w.get(n).toFloatArray()));
        }
        return out;
    }
}
