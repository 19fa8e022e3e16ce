package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `icedit eval` end to end on the tiny golden llama with a few-step ICE, a hand-made 3-case ZsRE file. */
class EvalCommandTest {
    static final String MODEL = "src/test/resources/golden/llama";
    static final String DATA = "src/test/resources/eval/tiny-zsre.json";
    static final String HPARAMS = "src/test/resources/eval/tiny-ice.yaml";
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> SUMMARY_KEYS = List.of("method", "dataset", "mode", "schedule", "model", "cases",
            "skipped", "edit_succ", "rephrase", "portability", "portability_by_type", "locality", "locality_by_type",
            "fluency", "ppl_r", "exact_match", "seconds_per_edit", "seed", "boundary_merges", "protocol", "intervals",
            "metrics");

    static CliRun eval(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("eval", "--model", MODEL, "--data", DATA, "--out", out.toString(),
                "--fluency-tokens", "40", "--quiet"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static JsonNode summary(Path dir) throws Exception {
        JsonNode s = JSON.readTree(dir.resolve("summary.json").toFile());
        List<String> keys = new ArrayList<>();
        s.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactlyElementsOf(SUMMARY_KEYS);
        return s;
    }

    /** SQuAD's answer normalisation, written out here. */
    static String squad(String s) {
        return s.toLowerCase(java.util.Locale.ROOT).replaceAll("[\\p{P}\\p{S}]", "").replaceAll("\\b(a|an|the)\\b", " ")
                .replaceAll("\\s+", " ").strip();
    }

    static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void singleModeWritesEveryFileAndAResumedRunDoesNotRedoFinishedCases(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ice");
        CliRun first = eval(dir, "--method", "ICE", "--hparams", HPARAMS, "--limit", "2");
        assertThat(first.code()).as(first.err()).isZero();
        List<String> firstLines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(firstLines).hasSize(2);
        assertThat(summary(dir).get("cases").asInt()).isEqualTo(2);
        // the sampling ICE took from the model (its generation_config.json sets neither: transformers' defaults)
        assertThat(JSON.readTree(dir.resolve("run.json").toFile()).get("model_defaults").toString())
                .isEqualTo("{\"top_k\":50,\"top_p\":1.0}");

        CliRun second = eval(dir, "--method", "ICE", "--hparams", HPARAMS);
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.err()).contains("2 of 3 cases already done");
        List<String> lines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(lines).hasSize(3);
        // cases 0 and 1 were not recomputed: their lines, timestamps included, are untouched
        assertThat(lines.subList(0, 2)).isEqualTo(firstLines);

        JsonNode s = summary(dir);
        assertThat(s.get("method").asText()).isEqualTo("ICE");
        assertThat(s.get("dataset").asText()).isEqualTo("ZsRE");
        assertThat(s.get("mode").asText()).isEqualTo("single");
        assertThat(s.get("schedule").isNull()).isTrue();
        assertThat(s.get("cases").asInt()).isEqualTo(3);
        assertThat(s.get("skipped").asInt()).isZero();
        assertThat(s.get("seed").asLong()).isZero();
        for (String k : List.of("edit_succ", "rephrase", "portability", "locality", "exact_match")) {
            assertThat(s.get(k).asDouble()).as(k).isBetween(0.0, 100.0);
        }
        assertThat(s.get("portability_by_type").size()).isEqualTo(3); // one type per case in the file
        assertThat(s.get("locality_by_type").has("Relation_Specificity")).isTrue();
        assertThat(s.get("fluency").asDouble()).isPositive();
        assertThat(s.get("ppl_r").asDouble()).isPositive();
        assertThat(s.get("seconds_per_edit").asDouble()).isPositive();

        // every metric with its counts and its 95% interval, per type too
        assertThat(s.get("protocol").asText()).isEqualTo("teacher-forced");
        assertThat(s.get("intervals").get("resamples").asInt()).isEqualTo(2000);
        JsonNode tf = s.get("metrics").get("teacher-forced");
        assertThat(s.get("metrics").has("generation")).isFalse();
        JsonNode edit = tf.get("edit_succ");
        assertThat(edit.get("value").asDouble()).isEqualTo(s.get("edit_succ").asDouble());
        assertThat(edit.get("cases").asInt()).isEqualTo(3);
        assertThat(edit.get("ci95").get(0).asDouble()).isLessThanOrEqualTo(edit.get("value").asDouble());
        assertThat(edit.get("ci95").get(1).asDouble()).isGreaterThanOrEqualTo(edit.get("value").asDouble());
        assertThat(edit.has("before")).isTrue();
        assertThat(tf.get("locality").has("before")).isFalse(); // locality compares with the unedited model
        assertThat(tf.has("locality/Relation_Specificity")).isTrue();
        assertThat(tf.get("portability/Reasoning").get("items").asInt()).isPositive();

        List<JsonNode> cases = lines(dir.resolve("cases.jsonl"));
        assertThat(cases).extracting(c -> c.get("index").asInt()).containsExactly(0, 1, 2);
        for (JsonNode c : cases) {
            assertThat(c.get("post").has("generation")).isFalse(); // teacher-forced only: files as before
            assertThat(c.get("pre").get("locality").isNull()).isTrue(); // locality compares with the unedited model
            assertThat(c.get("post").get("locality").asDouble()).isBetween(0.0, 100.0);
            assertThat(c.get("edits_applied").asInt()).isEqualTo(c.get("edit_error").isNull() ? 1 : 0);
            assertThat(c.get("request").get("target").asText()).isNotBlank();
        }
        // ICE changed what the model predicts for at least one target
        assertThat(cases).anySatisfy(c -> assertThat(c.get("post").get("edit_succ").asDouble())
                .isNotEqualTo(c.get("pre").get("edit_succ").asDouble()));
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("<table").contains("Edit Succ.").contains("Paris is the capital of");
    }

    @Test
    void bothProtocolsNameTheirMetricsAndTheGenerationScoresFollowTheGeneratedAnswers(@TempDir Path tmp)
            throws Exception {
        Path dir = tmp.resolve("both");
        CliRun r = eval(dir, "--method", "ICE", "--hparams", HPARAMS, "--protocol", "both", "--resamples", "500");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("teacher-forced protocol").contains("generation protocol");
        JsonNode s = summary(dir);
        assertThat(s.get("protocol").asText()).isEqualTo("both");
        assertThat(s.get("intervals").get("resamples").asInt()).isEqualTo(500);
        JsonNode gen = s.get("metrics").get("generation");
        assertThat(s.get("metrics").get("teacher-forced").has("fluency")).isTrue();
        assertThat(gen.has("fluency")).isFalse();
        for (String k : List.of("edit_succ", "edit_succ_contains", "rephrase", "rephrase_contains", "portability",
                "portability_contains", "locality", "locality/Relation_Specificity")) {
            assertThat(gen.has(k)).as(k).isTrue();
            assertThat(gen.get(k).get("value").asDouble()).as(k).isBetween(0.0, 100.0);
        }
        assertThat(gen.get("edit_succ").get("cases").asInt()).isEqualTo(3);
        assertThat(JSON.readTree(dir.resolve("run.json").toFile()).get("protocol").asText()).isEqualTo("both");
        // each case's scores are those of its generated answers, scored by hand here
        double editMatches = 0;
        double editContains = 0;
        List<JsonNode> cases = lines(dir.resolve("cases.jsonl"));
        for (JsonNode c : cases) {
            JsonNode g = c.get("post").get("generation");
            String target = c.get("request").get("target").asText();
            String answer = g.get("answers").get(0).asText();
            assertThat(answer).doesNotContain("\n");
            String normal = answer.toLowerCase(java.util.Locale.ROOT).replaceAll("[\\p{P}\\p{S}]", "")
                    .replaceAll("\\b(a|an|the)\\b", " ").replaceAll("\\s+", " ").strip();
            boolean match = normal.equals(target.toLowerCase(java.util.Locale.ROOT));
            assertThat(g.get("edit_match").asDouble()).as(answer).isEqualTo(match ? 100.0 : 0.0);
            editMatches += match ? 100 : 0;
            editContains += g.get("edit_contains").asDouble();
            // locality: the answers after the edit against those before it
            String preAnswer = c.get("pre").get("generation").get("answers").get(3).asText();
            String postAnswer = g.get("answers").get(3).asText();
            assertThat(g.get("locality").get("Relation_Specificity").get(0).asDouble())
                    .isEqualTo(squad(preAnswer).equals(squad(postAnswer)) ? 100.0 : 0.0);
            assertThat(c.get("pre").get("generation").get("locality").size()).isZero();
        }
        assertThat(gen.get("edit_succ").get("value").asDouble()).isCloseTo(editMatches / 3, within(1e-9));
        assertThat(gen.get("edit_succ_contains").get("value").asDouble()).isCloseTo(editContains / 3, within(1e-9));
        assertThat(gen.get("edit_succ_contains").get("value").asDouble())
                .isGreaterThanOrEqualTo(gen.get("edit_succ").get("value").asDouble());
        // the teacher-forced numbers are those of a teacher-forced run
        Path tf = tmp.resolve("tf");
        assertThat(eval(tf, "--method", "ICE", "--hparams", HPARAMS).code()).isZero();
        assertThat(summary(tf).get("edit_succ")).isEqualTo(s.get("edit_succ"));
        assertThat(Files.readString(dir.resolve("report.html"))).contains("Metrics: generation protocol")
                .contains("Metrics: teacher-forced protocol");

        // generation alone: no teacher-forced numbers at all
        Path only = tmp.resolve("generation");
        CliRun g = eval(only, "--method", "NONE", "--protocol", "generation", "--limit", "2");
        assertThat(g.code()).as(g.err()).isZero();
        JsonNode gs = summary(only);
        assertThat(gs.get("edit_succ").isNull()).isTrue();
        assertThat(gs.get("metrics").has("teacher-forced")).isFalse();
        assertThat(gs.get("metrics").get("generation").get("locality").get("value").asDouble()).isEqualTo(100.0);
        CliRun bad = eval(tmp.resolve("bad"), "--method", "NONE", "--protocol", "sampled");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("error: unknown protocol 'sampled' (expected teacher-forced, generation or both)");
    }

    @Test
    void continualModeKeepsACurveAndItsStateAndResumes(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("continual");
        String[] args = {"--method", "ICE", "--hparams", HPARAMS, "--mode", "continual", "--probes", "2",
            "--probe-every", "1"};
        CliRun first = eval(dir, concat(args, "--limit", "2"));
        assertThat(first.code()).as(first.err()).isZero();
        List<String> firstLines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(Files.exists(dir.resolve("patches/continual-state.safetensors"))).isTrue();

        CliRun second = eval(dir, args);
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.err()).contains("2 of 3 cases already done").contains("re-applied 2 saved edits");
        List<String> lines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(lines).hasSize(3);
        assertThat(lines.subList(0, 2)).isEqualTo(firstLines);

        // one curve point before any edit and one after each of the 3 edits, none done twice
        assertThat(lines(dir.resolve("curve.jsonl"))).extracting(p -> p.get("edits").asInt()).containsExactly(0, 1, 2, 3);
        List<JsonNode> edits = lines(dir.resolve("edits.jsonl"));
        assertThat(edits).extracting(e -> e.get("position").asInt()).containsExactly(0, 1, 2);
        // immediate schedule: case k is measured with the edits of cases 0..k installed
        int installed = 0;
        for (int k = 0; k < 3; k++) {
            installed += edits.get(k).get("error").isNull() ? 1 : 0;
            assertThat(lines(dir.resolve("cases.jsonl")).get(k).get("edits_applied").asInt()).isEqualTo(installed);
        }
        JsonNode s = summary(dir);
        assertThat(s.get("mode").asText()).isEqualTo("continual");
        assertThat(s.get("schedule").asText()).isEqualTo("immediate");
        assertThat(s.get("cases").asInt()).isEqualTo(3);
        assertThat(Files.readString(dir.resolve("report.html"))).contains("data:image/png;base64,")
                .contains("Metrics against the number of edits");
    }

    @Test
    void plotComparesContinualRunsAndRefusesASingleRun(@TempDir Path tmp) throws Exception {
        String[] continual = {"--mode", "continual", "--probes", "2", "--probe-every", "1", "--limit", "2"};
        assertThat(eval(tmp.resolve("ice"), concat(new String[] {"--method", "ICE", "--hparams", HPARAMS}, continual))
                .code()).isZero();
        assertThat(eval(tmp.resolve("none"), concat(new String[] {"--method", "NONE"}, continual)).code()).isZero();
        assertThat(eval(tmp.resolve("single"), "--method", "NONE", "--limit", "1").code()).isZero();

        CliRun plot = CliRun.of("plot", "--out", tmp.resolve("charts").toString(), tmp.resolve("ice").toString(),
                tmp.resolve("none").toString());
        assertThat(plot.code()).as(plot.err()).isZero();
        assertThat(plot.out()).contains("edit_succ.png").contains("locality.png");
        java.awt.image.BufferedImage chart = javax.imageio.ImageIO.read(tmp.resolve("charts/edit_succ.png").toFile());
        assertThat(chart.getWidth()).isEqualTo(520);
        assertThat(chart.getHeight()).isEqualTo(320);

        CliRun single = CliRun.of("plot", "--out", tmp.resolve("charts2").toString(), tmp.resolve("single").toString());
        assertThat(single.code()).isEqualTo(1);
        assertThat(single.err()).contains("has no curve: only continual runs");
        CliRun missing = CliRun.of("plot", "--out", tmp.resolve("charts3").toString(), tmp.resolve("nowhere").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("not a directory");
    }

    @Test
    void finalScheduleMeasuresEveryCaseAfterAllEdits(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("final");
        CliRun r = eval(dir, "--method", "ICE", "--hparams", HPARAMS, "--mode", "continual", "--schedule", "final",
                "--limit", "2", "--probe-every", "5");
        assertThat(r.code()).as(r.err()).isZero();
        int installed = (int) lines(dir.resolve("edits.jsonl")).stream().filter(e -> e.get("error").isNull()).count();
        assertThat(lines(dir.resolve("cases.jsonl"))).hasSize(2)
                .allSatisfy(c -> assertThat(c.get("edits_applied").asInt()).isEqualTo(installed));
        // points at 0 edits and at the end of the run
        assertThat(lines(dir.resolve("curve.jsonl"))).extracting(p -> p.get("edits").asInt()).containsExactly(0, 2);
        assertThat(summary(dir).get("schedule").asText()).isEqualTo("final");
        // the final schedule cannot be extended: its measurements were taken after all of its edits
        CliRun more = eval(dir, "--method", "ICE", "--hparams", HPARAMS, "--mode", "continual", "--schedule", "final",
                "--probe-every", "5");
        assertThat(more.code()).isEqualTo(1);
        assertThat(more.err()).contains("\nerror: ").contains("cannot be resumed").contains("limit (was 2, now null)");
    }

    @Test
    void baselinesNoneAndInContext(@TempDir Path tmp) throws Exception {
        Path none = tmp.resolve("none");
        CliRun r = eval(none, "--method", "none", "--limit", "2");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = summary(none);
        assertThat(s.get("method").asText()).isEqualTo("NONE");
        assertThat(s.get("locality").asDouble()).isEqualTo(100.0); // nothing changed, to the last bit
        assertThat(s.get("seconds_per_edit").asDouble()).isZero();
        for (JsonNode c : lines(none.resolve("cases.jsonl"))) {
            assertThat(c.get("post").get("edit_succ")).isEqualTo(c.get("pre").get("edit_succ"));
            assertThat(c.get("post").get("fluency")).isEqualTo(c.get("pre").get("fluency"));
            assertThat(c.get("post").get("generated")).isEqualTo(c.get("pre").get("generated"));
            assertThat(c.get("edits_applied").asInt()).isZero();
        }

        Path ic = tmp.resolve("in-context");
        r = eval(ic, "--method", "IN-CONTEXT", "--limit", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(summary(ic).get("method").asText()).isEqualTo("IN-CONTEXT");
        JsonNode run = JSON.readTree(ic.resolve("run.json").toFile());
        assertThat(run.get("in_context_prefix").asText()).isEqualTo("Fact: {prompt} {target_new}. Now: ");
        // the context changes what the model predicts after the locality prompts
        assertThat(lines(ic.resolve("cases.jsonl"))).anySatisfy(
                c -> assertThat(c.get("post").get("locality").asDouble()).isLessThan(100.0));
    }

    @Test
    void badInputsFailWithOneLine(@TempDir Path tmp) {
        CliRun unknown = eval(tmp.resolve("a"), "--method", "FOO");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err().strip().lines().reduce((a, b) -> b).orElseThrow())
                .isEqualTo("error: unknown method 'FOO' (known: ICE, FT-M, FT-L, NONE, IN-CONTEXT)".replace(
                        "ICE, FT-M, FT-L", String.join(", ", dev.icedit.edit.Editors.names())));

        CliRun notALayout = CliRun.of("eval", "--model", MODEL, "--data", "src/test/resources/eval/mend-zsre.json",
                "--method", "NONE", "--out", tmp.resolve("b").toString());
        assertThat(notALayout.code()).isEqualTo(1);
        assertThat(notALayout.err()).startsWith("error: ").contains("mend-zsre.json: not a dataset layout")
                .doesNotContain("Exception").doesNotContain("\tat ");

        CliRun badMode = eval(tmp.resolve("c"), "--method", "NONE", "--mode", "sometimes");
        assertThat(badMode.err()).contains("error: unknown mode 'sometimes' (expected single or continual)");

        Path dir = tmp.resolve("d");
        assertThat(eval(dir, "--method", "NONE", "--limit", "1").code()).isZero();
        CliRun other = eval(dir, "--method", "IN-CONTEXT", "--limit", "1");
        assertThat(other.code()).isEqualTo(1);
        assertThat(other.err()).contains("holds a run with other settings").contains("method (was \"NONE\", now \"IN-CONTEXT\")");
    }

    @Test
    void aPromptThatIsNotValidUnicodeIsReportedAtTheStartAndTheReportIsStillWritten(@TempDir Path tmp)
            throws Exception {
        String records = Files.readString(Path.of(DATA)).strip();
        Path data = Files.writeString(tmp.resolve("surrogate.json"), records.substring(0, records.length() - 1)
                + ", {\"prompt\": \"Who wrote \\udc00 Hamlet?\", \"target_new\": \"Marlowe\", \"rephrase_prompt\": \"r\","
                + " \"subject\": \"Hamlet\", \"locality\": {}, \"portability\": {}}]");
        Path dir = tmp.resolve("out");
        CliRun r = CliRun.of("eval", "--model", MODEL, "--data", data.toString(), "--out", dir.toString(),
                "--fluency-tokens", "20", "--quiet", "--method", "NONE");
        assertThat(r.code()).as(r.err()).isZero();
        // said before the run starts, on the line listing skipped records
        assertThat(r.err().lines().limit(2)).anySatisfy(l -> assertThat(l).contains("skipped record 3: 'prompt'"
                + " contains an unpaired UTF-16 surrogate"));
        assertThat(summary(dir).get("cases").asInt()).isEqualTo(3);
        assertThat(Files.readString(dir.resolve("report.html"))).contains("unpaired UTF-16 surrogate");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
