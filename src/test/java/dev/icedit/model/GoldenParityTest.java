package dev.icedit.model;

import dev.icedit.model.config.LlamaConfig;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.edit.ft.FtlObjective;
import dev.icedit.edit.ft.FtmObjective;
import dev.icedit.edit.ice.IceLoss;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.tuning.Suffix;
import dev.icedit.testing.Golden;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Parity with transformers: token ids, logits of a padded batch, greedy continuations, and gradients, against
 * golden files written by tools/golden/make_golden.py. Each check prints the largest difference it found.
 */
class GoldenParityTest {
    static final double LOGIT_TOLERANCE = 1e-4;
    static final double GRADIENT_TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral", "default", "llama3", "llama-yarn", "llama-dynamic", "llama-linear", "qwen3",
        "qwen2-sw"})
    void tokenizerMatches(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g)) {
            for (JsonNode t : g.json.get("tokenization")) {
                String text = t.get("text").asText();
                assertThat(m.tokenizer().encode(text)).as("ids of %s", text).containsExactly(Golden.ids(t.get("ids")));
                long[] plain = Golden.ids(t.get("ids_no_special"));
                assertThat(m.tokenizer().encodeText(text)).as("plain ids of %s", text).containsExactly(plain);
                assertThat(m.tokenizer().decode(plain)).isEqualTo(t.get("decoded").asText());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral", "default", "llama3", "llama-yarn", "llama-dynamic", "llama-linear", "qwen3",
        "qwen2-sw"})
    void paddedBatchLogitsMatch(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g); NDScope scope = new NDScope()) {
            JsonNode f = g.json.get("forward");
            List<long[]> prompts = new ArrayList<>();
            for (JsonNode p : f.get("prompts")) {
                prompts.add(m.tokenizer().encode(p.asText()));
            }
            TokenBatch batch = TokenBatch.leftPadded(prompts, f.get("pad_token_id").asLong());
            assertThat(batch.flatIds()).containsExactly(Golden.rows(f.get("input_ids")).stream()
                    .flatMapToLong(Arrays::stream).toArray());
            float[] logits = m.logits(batch).toFloatArray();
            float[] expected = g.tensor(f.get("logits_key").asText());
            long[] shape = g.shape(f.get("logits_key").asText());
            int v = (int) shape[2];
            double max = 0;
            List<long[]> mask = Golden.rows(f.get("attention_mask"));
            for (int b = 0; b < shape[0]; b++) {
                for (int t = 0; t < shape[1]; t++) {
                    if (mask.get(b)[t] == 0) {
                        continue;
                    }
                    for (int i = 0; i < v; i++) {
                        int at = (int) ((b * shape[1] + t) * v + i);
                        max = Math.max(max, Math.abs(logits[at] - expected[at]));
                    }
                }
            }
            System.out.printf("[parity] %s padded batch logits: max abs diff %.3g%n", name, max);
            assertThat(max).isLessThanOrEqualTo(LOGIT_TOLERANCE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral", "default", "llama3", "llama-yarn", "llama-dynamic", "llama-linear", "qwen3",
        "qwen2-sw"})
    void greedyContinuationsMatch(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g)) {
            int max = g.json.get("max_new_tokens").asInt();
            List<long[]> prompts = new ArrayList<>();
            List<long[]> expected = new ArrayList<>();
            for (JsonNode c : g.json.get("greedy")) {
                long[] ids = m.tokenizer().encode(c.get("prompt").asText());
                assertThat(ids).containsExactly(Golden.ids(c.get("input_ids")));
                long[] out = Generator.generate(m, List.of(ids), GenerationOptions.greedy(max)).get(0);
                assertThat(out).as("greedy continuation of %s", c.get("prompt")).containsExactly(Golden.ids(c.get("new_tokens")));
                prompts.add(ids);
                expected.add(Golden.ids(c.get("new_tokens")));
            }
            // batched rows equal the single runs except where a batch's length changes the result (dynamic rope)
            List<long[]> batched = Generator.generate(m, prompts, GenerationOptions.greedy(max));
            List<long[]> batchExpected = Golden.rows(g.json.get("greedy_batch").get("new_tokens"));
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(batched.get(i)).as("batched row %d", i).containsExactly(batchExpected.get(i));
            }
            System.out.printf("[parity] %s greedy: %d prompts, single and batched identical to transformers%n", name,
                    prompts.size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral", "default", "llama3", "llama-yarn", "llama-dynamic", "llama-linear", "qwen3",
        "qwen2-sw"})
    void gradientOfNextTokenLossMatches(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g)) {
            JsonNode gr = g.json.get("gradient");
            long[] ids = Golden.ids(gr.get("input_ids"));
            double[] loss = new double[1];
            float[] grad = gradient(m, gr.get("param").asText(), w -> {
                // the whole text in one pass, as transformers scores it (with dynamic rope the length matters)
                NDArray logp = Suffix.logProbs(m, w, List.of(ids), ids.length, null).get(":, :-1, :");
                NDArray[] target = Suffix.rightAligned(logp.getManager(), List.of(Arrays.copyOfRange(ids, 1, ids.length)),
                        ids.length - 1);
                NDArray l = Suffix.pick(logp, target[0]).mean().neg();
                loss[0] = l.getFloat();
                return l;
            });
            double rel = Golden.relativeError(grad, g.tensor(gr.get("grad_key").asText()));
            System.out.printf("[parity] %s gradient of %s: loss %.6f (golden %.6f), relative error %.3g%n", name,
                    gr.get("param").asText(), loss[0], gr.get("loss").asDouble(), rel);
            assertThat(loss[0]).isCloseTo(gr.get("loss").asDouble(), org.assertj.core.data.Offset.offset(1e-4));
            assertThat(rel).isLessThanOrEqualTo(GRADIENT_TOLERANCE);
        }
    }

    /** The inverse frequencies and cos/sin scaling of each rope type, at lengths below and beyond the context. */
    @ParameterizedTest
    @ValueSource(strings = {"llama3", "llama-yarn", "llama-dynamic", "llama-linear"})
    void ropeFrequenciesMatch(String name) throws Exception {
        try (Golden g = Golden.of(name)) {
            LlamaConfig c = (LlamaConfig) ModelConfig.read(g.dir.resolve("config.json"));
            JsonNode rope = g.json.get("rope");
            assertThat(c.rope().type()).isEqualTo(rope.get("rope_type").asText());
            double max = 0;
            double scaling = 0;
            for (java.util.Iterator<String> it = rope.get("inv_freq").fieldNames(); it.hasNext();) {
                String key = it.next();
                int length = key.equals("init") ? c.rope().maxPositions() : Integer.parseInt(key);
                float[] inv = c.rope().inverseFrequencies(c.headDim(), length);
                JsonNode expected = rope.get("inv_freq").get(key);
                assertThat(inv).hasSize(expected.size());
                for (int i = 0; i < inv.length; i++) {
                    max = Math.max(max, Math.abs(inv[i] - expected.get(i).asDouble()) / expected.get(i).asDouble());
                }
                scaling = Math.max(scaling, Math.abs(c.rope().attentionScaling()
                        - rope.get("attention_scaling").get(key).asDouble()));
            }
            System.out.printf("[parity] %s rope %s: inverse frequencies max relative diff %.3g, attention scaling"
                    + " diff %.3g%n", name, c.rope().type(), max, scaling);
            assertThat(max).isLessThanOrEqualTo(1e-6);
            assertThat(scaling).isLessThanOrEqualTo(1e-6);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void iceLossAndGradientMatch(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g)) {
            JsonNode ice = g.json.get("ice_loss");
            List<IceObjective.Row> rows = new ArrayList<>();
            for (JsonNode ex : ice.get("examples")) {
                long[] target = Golden.ids(ex.get("target_ids"));
                long[] completion = Golden.ids(ex.get("completion_ids"));
                long[] withCtx = Golden.ids(ex.get("seq_with_context"));
                rows.add(new IceObjective.Row(Arrays.copyOf(withCtx, withCtx.length - target.length - completion.length),
                        Golden.ids(ex.get("prompt_ids")), target, completion));
            }
            IceLoss.Terms[] terms = new IceLoss.Terms[1];
            float[] grad = gradient(m, ice.get("param").asText(), w -> {
                terms[0] = IceObjective.lossForKnownCompletions(m, w, rows);
                NDScope.unregister(terms[0].perRow(), terms[0].kl(), terms[0].targetWithContext(),
                        terms[0].targetWithoutContext());
                return terms[0].mean();
            });
            float[] perRow = terms[0].perRow().toFloatArray();
            float[] kl = terms[0].kl().toFloatArray();
            double maxDiff = 0;
            for (int i = 0; i < rows.size(); i++) {
                JsonNode ex = ice.get("per_example").get(i);
                maxDiff = Math.max(maxDiff, Math.abs(perRow[i] - ex.get("loss").asDouble()) / ex.get("loss").asDouble());
                maxDiff = Math.max(maxDiff, Math.abs(kl[i] - ex.get("kl").asDouble()) / ex.get("kl").asDouble());
            }
            double rel = Golden.relativeError(grad, g.tensor(ice.get("grad_key").asText()));
            System.out.printf("[parity] %s ICE loss per example %s (golden %s), max relative diff %.3g; gradient relative"
                    + " error %.3g%n", name, Arrays.toString(perRow), ice.get("per_example").findValues("loss"), maxDiff, rel);
            assertThat(maxDiff).isLessThanOrEqualTo(1e-4);
            assertThat(rel).isLessThanOrEqualTo(GRADIENT_TOLERANCE);
            Arrays.stream(new NDArray[] {terms[0].perRow(), terms[0].kl(), terms[0].targetWithContext(),
                terms[0].targetWithoutContext()}).forEach(NDArray::close);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void fineTuningLossesMatch(String name) throws Exception {
        try (Golden g = Golden.of(name); LanguageModel m = load(g)) {
            List<long[]> prompts = new ArrayList<>();
            List<long[]> targets = new ArrayList<>();
            for (JsonNode ex : g.json.get("ice_loss").get("examples")) {
                prompts.add(Golden.ids(ex.get("prompt_ids")));
                targets.add(Golden.ids(ex.get("target_ids")));
            }
            for (Map.Entry<String, Function<Weights, NDArray>> e : Map.<String, Function<Weights, NDArray>>of(
                    "ftm_loss", w -> FtmObjective.loss(m, w, prompts, targets),
                    "ftl_loss", w -> FtlObjective.loss(m, w, prompts, targets)).entrySet()) {
                JsonNode golden = g.json.get(e.getKey());
                double[] value = new double[1];
                float[] grad = gradient(m, golden.get("param").asText(), w -> {
                    NDArray l = e.getValue().apply(w);
                    value[0] = l.getFloat();
                    return l;
                });
                double rel = Golden.relativeError(grad, g.tensor(golden.get("grad_key").asText()));
                System.out.printf("[parity] %s %s: %.6f (golden %.6f), gradient relative error %.3g%n", name,
                        e.getKey(), value[0], golden.get("value").asDouble(), rel);
                assertThat(Math.abs(value[0] - golden.get("value").asDouble()) / golden.get("value").asDouble())
                        .isLessThanOrEqualTo(1e-4);
                assertThat(rel).isLessThanOrEqualTo(GRADIENT_TOLERANCE);
            }
        }
    }

    /** The tiny models live beside their goldens; the default model's goldens point at models/default. */
    static LanguageModel load(Golden g) {
        Path dir = g.json.has("model_dir") ? Path.of("models/default") : g.dir;
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(dir.resolve("config.json")),
                "SKIPPED: no model at " + dir);
        return LanguageModel.load(dir);
    }

    /** The gradient of a loss with respect to one weight, stored as transformers stores it. */
    static float[] gradient(LanguageModel m, String param, Function<Weights, NDArray> loss) {
        try (LanguageModel.Lease lease = m.lease(); NDScope scope = new NDScope()) {
            NDArray leaf = lease.weights().get(param).duplicate();
            leaf.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(loss.apply(lease.weights().with(Map.of(param, leaf))));
            }
            return leaf.getGradient().toFloatArray();
        }
    }
}
