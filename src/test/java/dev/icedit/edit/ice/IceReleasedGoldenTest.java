package dev.icedit.edit.ice;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.tuning.Suffix;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.testing.Golden;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * ICE with the released settings against the loss the published code computes (golden from
 * tools/golden/make_released_ice_golden.py, written the way bigai-ai/ICE's ft_main.py computes it), on the tiny
 * Llama golden model, whose tokenizer adds BOS: the released mask then also covers the prompt's last token.
 */
class IceReleasedGoldenTest {
    private static final JsonNode GOLDEN = read();

    private static JsonNode read() {
        try {
            return new ObjectMapper().readTree(Golden.ROOT.resolve("ice-released.json").toFile());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static EditRequest request(JsonNode c) {
        List<String> context = new ArrayList<>();
        if (c.get("context").isArray()) {
            c.get("context").forEach(s -> context.add(s.asText()));
        }
        return new EditRequest(c.get("prompt").asText(), c.get("target").asText(), null, context);
    }

    private static TuningHyperParams released() {
        return HyperParams.preset("ICE", "default-model-released", TuningHyperParams.class);
    }

    @Test
    void releasedPhraseListIsTheOnePythonReadsFromTheReleasedCode() {
        List<String> golden = new ArrayList<>();
        GOLDEN.get("released_phrases").forEach(p -> golden.add(p.asText()));
        assertThat(IceObjective.RELEASED_PHRASES).isEqualTo(golden).hasSize(4);
        assertThat(IceObjective.PHRASES).hasSize(6);
    }

    @Test
    void releasedContextsAndMaskGiveTheReleasedLoss() {
        try (LanguageModel m = LanguageModel.load(Golden.ROOT.resolve("llama")); NDScope scope = new NDScope()) {
            Tokenizer tok = m.tokenizer();
            double worst = 0;
            for (JsonNode c : GOLDEN.get("cases")) {
                EditRequest r = request(c);
                String phrase = IceObjective.RELEASED_PHRASES.get(c.get("phrase").asInt());
                List<String> sentences = r.context().isEmpty()
                        ? List.of(IceObjective.defaultContext(r, true)) : r.context();
                long[] y = Golden.ids(c.get("completion"));
                for (int i = 0; i < sentences.size(); i++) {
                    JsonNode g = c.get("rows").get(i);
                    String context = phrase + sentences.get(i) + IceObjective.NOW;
                    assertThat(context).isEqualTo(g.get("context").asText());
                    IceObjective.Row row = IceObjective.row(tok, r, context, true).withCompletion(y);
                    assertThat(Suffix.concat(row.withoutContext(), row.target()))
                            .containsExactly(Golden.ids(g.get("prompt_target_ids")));
                    assertThat(Suffix.concat(row.withContext(), row.target()))
                            .containsExactly(Golden.ids(g.get("context_prompt_target_ids")));
                    assertThat(row.scored()).isEqualTo(g.get("target_mask_tokens").asInt());
                    double expected = g.get("loss").asDouble();
                    double definition = IceObjective.lossForKnownCompletions(m, m.currentWeights(), List.of(row))
                            .mean().getFloat();
                    double cached = IceObjective.lossWithCachedContextPass(m, m.currentWeights(), List.of(row))
                            .mean().getFloat();
                    IceObjective.Row plain = IceObjective.row(tok, r, context, false).withCompletion(y);
                    double targetOnly = IceObjective.lossForKnownCompletions(m, m.currentWeights(), List.of(plain))
                            .mean().getFloat();
                    System.out.printf("[ice-released] %s -> %s: released loss %.5f (golden %.5f, cached pass %.5f);"
                            + " target_mask: target gives %.5f%n", r.prompt(), r.target(), definition, expected,
                            cached, targetOnly);
                    worst = Math.max(worst, Math.max(Math.abs(definition - expected), Math.abs(cached - expected))
                            / expected);
                    // the released mask scores one more token (BOS counted): the loss is measurably larger
                    assertThat(expected - targetOnly).isGreaterThan(1e-2 * expected);
                }
            }
            System.out.printf("[ice-released] largest relative difference %.3g%n", worst);
            assertThat(worst).isLessThanOrEqualTo(1e-4);
        }
    }

    @Test
    void settingsPickThePhraseListAndDefaultContext() {
        EditRequest r = EditRequest.of("The capital of France is", "Rome");
        TuningHyperParams paper = HyperParams.preset("ICE", "default-model", TuningHyperParams.class);
        assertThat(drawn(r, released())).isEqualTo(expected(IceObjective.RELEASED_PHRASES,
                "The capital of France is Rome.  Now: "));
        assertThat(drawn(r, paper)).isEqualTo(expected(IceObjective.PHRASES, "The capital of France is Rome. Now: "));
        EditRequest withContext = new EditRequest("The capital of France is", "Rome", null,
                List.of("Rome became the capital of France.", "France moved its capital."));
        List<String> two = IceObjective.contexts(withContext, released(), new SplittableRandom(1));
        assertThat(two).hasSize(2);
        assertThat(two.get(0)).endsWith("Rome became the capital of France. Now: ");
        assertThat(two.get(1)).endsWith("France moved its capital. Now: ");
    }

    private static Set<String> drawn(EditRequest r, TuningHyperParams hp) {
        SplittableRandom random = new SplittableRandom(0);
        Set<String> out = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            out.addAll(IceObjective.contexts(r, hp, random));
        }
        return out;
    }

    private static Set<String> expected(List<String> phrases, String sentence) {
        Set<String> out = new HashSet<>();
        phrases.forEach(p -> out.add(p + sentence));
        return out;
    }

    @Test
    void releasedPresetsCarryTheReleasedKeysAndBadValuesFail() {
        for (String family : List.of("default-model", "gpt2-xl", "llama-2-7b")) {
            TuningHyperParams plain = HyperParams.preset("ICE", family, TuningHyperParams.class);
            TuningHyperParams rel = HyperParams.preset("ICE", family + "-released", TuningHyperParams.class);
            assertThat(rel.contextPhrases()).isEqualTo("released");
            assertThat(rel.defaultContext()).isEqualTo("released");
            assertThat(rel.targetMask()).isEqualTo("released");
            assertThat(rel.topK()).isNull(); // the model's generation_config.json, else 50, as generate() does
            assertThat(plain.contextPhrases()).isEqualTo("paper");
            assertThat(plain.targetMask()).isEqualTo("target");
            assertThat(HyperParams.with(rel, Map.of("context_phrases", "paper", "default_context", "paper",
                    "target_mask", "target"))).isEqualTo(plain);
        }
        TuningHyperParams hp = released();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HyperParams.with(hp, Map.of("target_mask", "all")))
                .hasMessageContaining("target_mask must be one of [target, released], got 'all'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HyperParams.with(hp, Map.of("top_p", 0)))
                .hasMessageContaining("top_p must be in (0, 1]");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HyperParams.with(hp, Map.of("top_k", -1)))
                .hasMessageContaining("top_k must be >= 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HyperParams.parse("alg_name: ICE\nlayers: [1]\n"
                + "num_steps: 1\nbatch_size: 1\nlr: 1.0e-3\nnorm_constraint: 1.0e-3\nobjective: "
                + "target_and_completion_with_context\ncontext_phrase: released\n", TuningHyperParams.class, "x.yaml"))
                .hasMessageContaining("x.yaml: unknown key 'context_phrase'");
    }
}
