package dev.icedit.eval.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.eval.Evaluation;
import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.model.LanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache of pre-edit observations: a second method on the same model, data and settings reads them instead of
 * measuring; a changed seed, fluency length or model misses; an entry that does not read back is measured again.
 */
class BeforeCacheTest {
    static final Path MODEL = Path.of("src/test/resources/golden/llama");
    static final Path DATA = Path.of("src/test/resources/eval/tiny-zsre.json");

    static EvalOptions options(String method, long seed, int fluency, Path cache) {
        return new EvalOptions(method, null, EvalOptions.Mode.SINGLE, EvalOptions.Schedule.IMMEDIATE, null, 0, seed,
                fluency, 2, 1, dev.icedit.eval.metrics.Protocol.TEACHER_FORCED, 100).withBeforeCache(cache);
    }

    static List<JsonNode> pre(Path run) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("cases.jsonl"))) {
            out.add(RunDirectory.JSON.readTree(l).get("pre"));
        }
        return out;
    }

    static List<Path> entries(Path cache) throws Exception {
        try (Stream<Path> s = Files.walk(cache)) {
            return s.filter(p -> p.toString().endsWith(".json") && !p.getFileName().toString().equals("settings.json"))
                    .sorted().toList();
        }
    }

    @Test
    void aSecondMethodReadsThePreEditObservationsAndChangedSettingsMiss(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("cache");
        Dataset data = DatasetLoader.load(DATA);
        List<Path> written;
        try (LanguageModel model = LanguageModel.load(MODEL)) {
            Evaluation.run(model, data, options("NONE", 7, 30, cache), tmp.resolve("none"), EvalListener.NONE);
            written = entries(cache);
            assertThat(written).hasSize(3);
            try (Stream<Path> dirs = Files.list(cache)) {
                assertThat(dirs.toList()).hasSize(1);
            }

            // mark one entry: a run that reads the cache reports the marked text, one that measures does not
            ObjectNode marked = (ObjectNode) RunDirectory.JSON.readTree(written.get(0).toFile());
            String greedy = marked.get("measurement").get("greedy").asText();
            ((ObjectNode) marked.get("measurement")).put("greedy", "from the cache");
            Files.writeString(written.get(0), RunDirectory.JSON.writeValueAsString(marked));

            List<String> infos = new ArrayList<>();
            EvalListener listener = new EvalListener() {
                @Override
                public void info(String line) {
                    infos.add(line);
                }
            };
            Evaluation.run(model, data, options("IN-CONTEXT", 7, 30, cache), tmp.resolve("in-context"), listener);
            assertThat(infos).anyMatch(l -> l.startsWith("pre-edit observations of 3 cases read from " + cache.toAbsolutePath()));
            List<JsonNode> first = pre(tmp.resolve("none"));
            List<JsonNode> second = pre(tmp.resolve("in-context"));
            assertThat(second.stream().map(p -> p.get("greedy").asText())).contains("from the cache");
            for (int i = 0; i < 3; i++) {
                ObjectNode a = (ObjectNode) first.get(i).deepCopy();
                ObjectNode b = (ObjectNode) second.get(i).deepCopy();
                if (b.get("greedy").asText().equals("from the cache")) {
                    b.put("greedy", greedy);
                }
                assertThat(b).isEqualTo(a); // every other field exactly as measured
            }

            // another seed, another fluency length, another model: each its own settings, measured afresh
            Evaluation.run(model, data, options("NONE", 8, 30, cache), tmp.resolve("seed8"), EvalListener.NONE);
            Evaluation.run(model, data, options("NONE", 7, 31, cache), tmp.resolve("fluency31"), EvalListener.NONE);
            assertThat(pre(tmp.resolve("seed8")).stream().map(p -> p.get("greedy").asText())).doesNotContain("from the cache");
            assertThat(pre(tmp.resolve("fluency31")).stream().map(p -> p.get("greedy").asText())).doesNotContain("from the cache");
            assertThat(entries(cache)).hasSize(9);
        }
        try (LanguageModel other = LanguageModel.load(Path.of("src/test/resources/golden/mistral"))) {
            Evaluation.run(other, data, options("NONE", 7, 30, cache), tmp.resolve("mistral"), EvalListener.NONE);
            assertThat(entries(cache)).hasSize(12);
        }

        // an entry that does not read back is measured again and rewritten: one the first run wrote, which the
        // next run with its settings reads (the listing order across settings directories follows their hashes)
        Path broken = written.get(1);
        Files.writeString(broken, "{\"measurement\": ");
        try (LanguageModel model = LanguageModel.load(MODEL)) {
            for (String run : List.of("again-1", "again-2")) {
                Evaluation.run(model, data, options("NONE", 7, 30, cache), tmp.resolve(run), EvalListener.NONE);
                Evaluation.run(model, data, options("NONE", 8, 30, cache), tmp.resolve(run + "-8"), EvalListener.NONE);
                Evaluation.run(model, data, options("NONE", 7, 31, cache), tmp.resolve(run + "-31"), EvalListener.NONE);
            }
        }
        RunDirectory.JSON.readTree(broken.toFile()); // rewritten whole
        assertThat(entries(cache)).hasSize(12);
    }
}
