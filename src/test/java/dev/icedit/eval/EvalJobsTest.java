package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.testing.CliRun;
import dev.icedit.testing.CliSequence;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code icedit eval --jobs N} on the tiny golden llama and six hand-made ZsRE cases: two workers write the records
 * one job writes (ICE, ROME, NONE), field for field but the timings, in position order; ROME's statistics are
 * computed once, by the first case, which runs alone; a resumed run does not redo finished cases;
 * the pre-edit cache works with workers; a failure stops every worker with its error; continual mode and fewer
 * than one job are refused before any work. The
 * thread count is fixed when libtorch starts, once per process, so the runs go in two processes of their own: one
 * job with ICEDIT_THREADS=1, and two jobs with ICEDIT_THREADS=2, which gives each of them one thread.
 */
class EvalJobsTest {
    static final String DATA = "src/test/resources/eval/six-zsre.json";
    /** The fields of a case's record that are times, not measurements. */
    static final List<String> TIMING = List.of("edit_seconds", "seconds", "finished_at");

    static List<String> eval(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("eval", "--model", EvalCommandTest.MODEL, "--data", DATA, "--out",
                out.toString(), "--fluency-tokens", "40", "--quiet"));
        args.addAll(List.of(extra));
        return args;
    }

    /** Starts a JVM that runs the command lines one after the other with ICEDIT_THREADS set; output in {@code log}. */
    static Process sequence(String threads, Path log, List<List<String>> commands) throws Exception {
        return sequence(threads, log, commands, java.util.Map.of());
    }

    static Process sequence(String threads, Path log, List<List<String>> commands, java.util.Map<String, String> env)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CliSequence.class.getName()));
        for (int i = 0; i < commands.size(); i++) {
            if (i > 0) {
                cmd.add(CliSequence.THEN);
            }
            cmd.addAll(commands.get(i));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ICEDIT_THREADS", threads);
        pb.environment().putAll(env);
        return pb.start();
    }

    static String finish(Process p, Path log) throws Exception {
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        return output;
    }

    /** ROME on the tiny llama with statistics of a small corpus kept in {@code stats}. */
    static Path romeHparams(Path file, Path corpus, Path stats) throws Exception {
        return Files.writeString(file, String.join("\n", "alg_name: ROME", "layers: [1]", "fact_token: subject_last",
                "v_num_grad_steps: 8", "v_lr: 0.5", "v_weight_decay: 0.001", "clamp_norm_factor: 4",
                "kl_factor: 0.0625", "mom2_adjustment: true", "context_template_length_params: [[3, 2]]",
                "mom2_dataset: " + corpus, "mom2_n_samples: 40", "mom2_dtype: float32", "stats_dir: " + stats,
                "seed: 0", ""));
    }

    /** The records of cases.jsonl without their timing fields. */
    static List<JsonNode> records(Path dir) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : EvalCommandTest.lines(dir.resolve("cases.jsonl"))) {
            ((ObjectNode) n).remove(TIMING);
            out.add(n);
        }
        return out;
    }

    @Test
    void twoJobsWriteTheRecordsOfOneJobInOrder(@TempDir Path tmp) throws Exception {
        Path ice1 = tmp.resolve("ice-1");
        Path none1 = tmp.resolve("none-1");
        Path ice2 = tmp.resolve("ice-2");
        Path none2 = tmp.resolve("none-2");
        Path none2Cached = tmp.resolve("none-2-cached");
        String cache = tmp.resolve("cache").toString();
        Path rome1 = tmp.resolve("rome-1");
        Path rome2 = tmp.resolve("rome-2");
        String[] ice = {"--method", "ICE", "--hparams", EvalCommandTest.HPARAMS};
        // ROME's statistics computed by each run (a directory each): by its first case, before the other worker starts
        Path corpus = dev.icedit.testing.TestCorpus.write(tmp.resolve("corpus"), 2, 200, 1);
        String rome1Hparams = romeHparams(tmp.resolve("rome-1.yaml"), corpus, tmp.resolve("stats-1")).toString();
        String rome2Hparams = romeHparams(tmp.resolve("rome-2.yaml"), corpus, tmp.resolve("stats-2")).toString();
        Process one = sequence("1", tmp.resolve("one.log"), List.of(
                eval(ice1, concat(ice, "--no-cache", "--jobs", "1")),
                eval(none1, "--method", "NONE", "--no-cache"),
                eval(rome1, "--method", "ROME", "--hparams", rome1Hparams, "--no-cache")));
        Process two = sequence("2", tmp.resolve("two.log"), List.of(
                eval(ice2, concat(ice, "--no-cache", "--jobs", "2")),
                eval(rome2, "--method", "ROME", "--hparams", rome2Hparams, "--no-cache", "--jobs", "2"),
                eval(none2, "--method", "NONE", "--jobs", "2", "--cache", cache),
                eval(none2Cached, "--method", "NONE", "--jobs", "2", "--cache", cache)),
                java.util.Map.of("ICEDIT_LOG_LEVEL", "INFO"));
        String oneLog = finish(one, tmp.resolve("one.log"));
        String twoLog = finish(two, tmp.resolve("two.log"));
        assertThat(oneLog).doesNotContain("workers");
        // ICEDIT_THREADS=2 shared by two workers: one thread each
        assertThat(twoLog).contains("2 workers, each with its own copy of the model and 1 intra-op thread\n")
                .doesNotContain("the engine started before");
        // run.json says how the latest invocation ran
        JsonNode run2 = RunDirectory.JSON.readTree(ice2.resolve("run.json").toFile());
        assertThat(run2.get("jobs").asInt()).isEqualTo(2);
        assertThat(run2.get("intra_op_threads").asInt()).isEqualTo(1);
        assertThat(RunDirectory.JSON.readTree(ice1.resolve("run.json").toFile()).get("jobs").asInt()).isEqualTo(1);

        // in position order, as one job writes them
        assertThat(EvalCommandTest.lines(ice2.resolve("cases.jsonl"))).extracting(c -> c.get("position").asInt())
                .containsExactly(0, 1, 2, 3, 4, 5);

        for (Path[] pair : new Path[][] {{ice1, ice2}, {rome1, rome2}, {none1, none2}, {none1, none2Cached}}) {
            List<JsonNode> a = records(pair[0]);
            List<JsonNode> b = records(pair[1]);
            assertThat(b).as(pair[1] + " has the cases of " + pair[0]).hasSize(6);
            for (int i = 0; i < a.size(); i++) {
                assertThat(b.get(i)).as(pair[1] + " case " + i).isEqualTo(a.get(i));
            }
            assertThat(EvalCommandTest.summary(pair[1]).get("edit_succ"))
                    .isEqualTo(EvalCommandTest.summary(pair[0]).get("edit_succ"));
        }
        // ICE and ROME edited: every edit applied, and they changed what the model predicts or samples
        assertThat(records(ice1)).anySatisfy(c -> assertThat(c.get("post").get("edit_succ"))
                .isNotEqualTo(c.get("pre").get("edit_succ")));
        assertThat(records(rome1)).anySatisfy(c -> assertThat(c.get("post").get("generated"))
                .isNotEqualTo(c.get("pre").get("generated")));
        for (Path dir : List.of(ice1, rome1)) {
            assertThat(records(dir)).allSatisfy(c -> assertThat(c.get("edits_applied").asInt()).isEqualTo(1));
        }
        // the two ROME workers computed the statistics once
        assertThat(twoLog.lines().filter(l -> l.contains("layer 1 done"))).as(twoLog).hasSize(1);
        // the workers of the first cached run wrote every pre-edit observation; the second run read them all
        assertThat(twoLog).contains("pre-edit observations of 6 cases read from");
    }

    @Test
    void aResumedRunWithTwoJobsDoesNotRedoFinishedCases(@TempDir Path tmp) throws Exception {
        // in this process: its engine is started first, so that --jobs leaves its thread count as it is
        dev.icedit.tensor.Backend.engine();
        Path dir = tmp.resolve("ice");
        String[] ice = {"--method", "ICE", "--hparams", EvalCommandTest.HPARAMS, "--jobs", "2", "--no-cache"};
        CliRun first = CliRun.of(eval(dir, concat(ice, "--limit", "3")).toArray(String[]::new));
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.err()).contains("2 workers, each with its own copy of the model");
        List<String> firstLines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(firstLines).hasSize(3);

        CliRun second = CliRun.of(eval(dir, ice).toArray(String[]::new));
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.err()).contains("3 of 6 cases already done");
        List<String> lines = Files.readAllLines(dir.resolve("cases.jsonl"));
        assertThat(lines).hasSize(6);
        assertThat(lines.subList(0, 3)).isEqualTo(firstLines); // not recomputed: timestamps included
        assertThat(EvalCommandTest.lines(dir.resolve("cases.jsonl"))).extracting(c -> c.get("index").asInt())
                .containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(EvalCommandTest.summary(dir).get("cases").asInt()).isEqualTo(6);
    }

    @Test
    void aFailureStopsEveryWorkerWithItsErrorAndTheWrittenRecordsStayInOrder(@TempDir Path tmp) throws Exception {
        dev.icedit.tensor.Backend.engine(); // as above: this process's thread count stays as it is
        // a layer the 2-layer model lacks: every edit fails, which stops the run after the first three
        Path badLayer = Files.writeString(tmp.resolve("bad-layer.yaml"),
                Files.readString(Path.of(EvalCommandTest.HPARAMS)).replace("layers: [1]", "layers: [7]"));
        Path dir = tmp.resolve("bad-layer");
        CliRun r = CliRun.of(eval(dir, "--method", "ICE", "--hparams", badLayer.toString(), "--jobs", "2",
                "--no-cache").toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        String last = r.err().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertThat(last).startsWith("error: the first 3 edits all failed, the last with: ICE hyper-parameters name"
                + " layer 7").endsWith("stopping (check the method's hyper-parameters)");
        // what was written is a prefix of the cases, in order, each without its edit
        List<JsonNode> written = Files.exists(dir.resolve("cases.jsonl"))
                ? EvalCommandTest.lines(dir.resolve("cases.jsonl")) : List.of();
        assertThat(written.size()).isLessThan(6);
        for (int i = 0; i < written.size(); i++) {
            assertThat(written.get(i).get("position").asInt()).isEqualTo(i);
            assertThat(written.get(i).get("edit_error").asText()).contains("layer 7");
        }
    }

    @Test
    void continualModeAndFewerThanOneJobAreRefusedBeforeAnyWork(@TempDir Path tmp) {
        Path dir = tmp.resolve("continual");
        CliRun continual = CliRun.of(eval(dir, "--method", "NONE", "--mode", "continual", "--jobs", "2")
                .toArray(String[]::new));
        assertThat(continual.code()).isEqualTo(1);
        assertThat(continual.err().strip()).isEqualTo("error: --jobs 2 needs --mode single: continual edits"
                + " accumulate one after the other and cannot be split among workers");
        assertThat(dir).doesNotExist();
        CliRun zero = CliRun.of(eval(tmp.resolve("zero"), "--method", "NONE", "--jobs", "0").toArray(String[]::new));
        assertThat(zero.code()).isEqualTo(1);
        assertThat(zero.err().strip()).isEqualTo("error: --jobs must be >= 1, got 0");
        assertThat(CliRun.of("eval", "--help").out()).contains("--jobs=N").contains("max(1, T/N)");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
