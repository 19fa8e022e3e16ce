package dev.icedit.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A record's own {@code context} and the sentences of {@code --contexts FILE} become the cases' requests' context. */
class ContextsTest {
    private static final String RECORD = "{\"subject\": \"Paris\", \"target_new\": \"Rome\", \"prompt\": \"Paris is the"
            + " capital of\", \"rephrase_prompt\": \"Paris is capital of\", \"cond\": \"x\", \"locality\": {},"
            + " \"portability\": {}%s}";

    private static Path data(Path dir, String... contextFields) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (String c : contextFields) {
            sb.append(String.format(RECORD, c)).append('\n');
        }
        Path file = dir.resolve("zsre.jsonl");
        Files.writeString(file, sb.toString());
        return file;
    }

    @Test
    void aRecordsContextIsAStringOrAListOfStrings(@TempDir Path dir) throws Exception {
        Dataset d = DatasetLoader.load(data(dir, "", ", \"context\": \"Rome is the capital of France now.\"",
                ", \"context\": [\"One.\", \"Two.\"]", ", \"context\": null", ", \"context\": 3",
                ", \"context\": []", ", \"context\": [\"ok\", \" \"]"));
        assertThat(d.cases()).hasSize(4);
        assertThat(d.cases().get(0).context()).isEmpty();
        assertThat(d.cases().get(1).request().context()).containsExactly("Rome is the capital of France now.");
        assertThat(d.cases().get(2).request().context()).containsExactly("One.", "Two.");
        assertThat(d.cases().get(3).context()).isEmpty();
        assertThat(d.skipped()).extracting(Dataset.Skipped::toString).containsExactly(
                "record 4: 'context' must be a string or a list of strings, got number",
                "record 5: 'context' is an empty list",
                "record 6: 'context[1]' is empty");
    }

    @Test
    void aContextsFileAttachesSentencesByRecordIndex(@TempDir Path dir) throws Exception {
        Dataset d = DatasetLoader.load(data(dir, "", ", \"context\": \"Own.\"", ""));
        Path ctx = dir.resolve("contexts.jsonl");
        Files.writeString(ctx, "{\"index\": 1, \"context\": [\"Brought one.\", \"Brought two.\"]}\n\n"
                + "{\"index\": 2, \"context\": \"Brought three.\"}\n");
        Dataset with = Contexts.attach(d, ctx);
        assertThat(with.cases()).extracting(EvalCase::context).containsExactly(List.of(),
                List.of("Brought one.", "Brought two."), List.of("Brought three."));
        assertThat(with.cases().get(1).request().context()).containsExactly("Brought one.", "Brought two.");
        assertThat(with.records()).isEqualTo(3);
    }

    @Test
    void badContextsFilesFailWithTheFileAndLineNamed(@TempDir Path dir) throws Exception {
        Dataset d = DatasetLoader.load(data(dir, "", "", ", \"context\": 5"));
        String[][] cases = {
            {"{\"index\": 0, \"context\": \"ok\"}\nnot json", "line 2: not valid JSON"},
            {"[1, 2]", "line 1: expected {\"index\": N, \"context\": ...}, got array"},
            {"{\"context\": \"x\"}", "line 1: missing 'index' (the record's 0-based index in zsre.jsonl)"},
            {"{\"index\": \"0\", \"context\": \"x\"}", "line 1: 'index' must be an integer >= 0, got \"0\""},
            {"{\"index\": 1.5, \"context\": \"x\"}", "line 1: 'index' must be an integer >= 0, got 1.5"},
            {"{\"index\": 3, \"context\": \"x\"}", "line 1: index 3 is past the last record of zsre.jsonl (3 records)"},
            {"{\"index\": 2, \"context\": \"x\"}", "line 1: record 2 of zsre.jsonl is not a usable case (it was skipped)"},
            {"{\"index\": 0, \"context\": \"x\"}\n{\"index\": 0, \"context\": \"y\"}", "line 2: index 0 is given twice"},
            {"{\"index\": 0}", "line 1: missing 'context' (a string or a list of strings)"},
            {"{\"index\": 0, \"context\": {\"a\": 1}}", "line 1: 'context' must be a string or a list of strings, got object"},
            {"{\"index\": 0, \"context\": [\"\"]}", "line 1: 'context[0]' is empty"},
            {"{\"index\": 0, \"contexts\": \"x\"}", "line 1: unknown key 'contexts' (known: index, context)"},
            {"\n\n", "no contexts"},
        };
        for (String[] c : cases) {
            Path file = dir.resolve("bad.jsonl");
            Files.writeString(file, c[0]);
            assertThatThrownBy(() -> Contexts.attach(d, file)).as(c[0])
                    .hasMessageStartingWith(file.toString() + ": ").hasMessageContaining(c[1])
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
        assertThatThrownBy(() -> Contexts.attach(d, dir.resolve("absent.jsonl")))
                .hasMessageContaining("absent.jsonl").hasMessageContaining("file not found");
    }
}
