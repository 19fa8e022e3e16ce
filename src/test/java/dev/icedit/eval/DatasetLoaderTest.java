package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.EvalItem;
import dev.icedit.eval.data.Layout;
import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loaders on small hand-written files: each layout, alias lists, missing fields, skipped and refused files. */
class DatasetLoaderTest {
    static final Path DIR = Path.of("src/test/resources/eval");

    @Test
    void zsreTakesFirstAliasesAndSkipsMalformedRecordsWithReasons() {
        Dataset d = DatasetLoader.load(DIR.resolve("zsre-mixed.json"));
        assertThat(d.layout()).isEqualTo(Layout.ZSRE);
        assertThat(d.records()).isEqualTo(5);
        assertThat(d.cases()).extracting(EvalCase::index).containsExactly(0, 4);
        EvalCase c = d.cases().get(0);
        assertThat(c.prompt()).isEqualTo("What species is ZIC3 specific to?");
        assertThat(c.targetNew()).isEqualTo("male");
        assertThat(c.subject()).isEqualTo("ZIC3");
        assertThat(c.groundTruth()).isEqualTo("human");
        assertThat(c.rephrasePrompt()).isEqualTo("In which living being can you find ZIC3?");
        assertThat(c.portability()).containsExactly(
                new EvalItem("Subject_Aliasing", "What is the function of Zic family member 3?", "male"));
        assertThat(c.locality()).containsExactly(
                new EvalItem("Relation_Specificity", "The strand orientation of ZIC3 is", "forward strand"),
                new EvalItem("Relation_Specificity", "ZIC3 strand orientation", "forward strand"));
        // a blank rephrase prompt counts as none
        assertThat(d.cases().get(1).rephrasePrompt()).isNull();
        assertThat(d.skipped()).extracting(Dataset.Skipped::index).containsExactly(1, 2, 3);
        assertThat(d.skipped().get(0).reason()).isEqualTo("missing 'target_new'");
        assertThat(d.skipped().get(1).reason())
                .isEqualTo("'locality.Relation_Specificity[0].ground_truth' has an empty alias list");
        assertThat(d.skipped().get(2).reason()).startsWith("portability: expected an object");
    }

    @Test
    void wikiRecentJsonLinesUseTheFirstAliasOfTheFirstListAndSkipBadLines() {
        Dataset d = DatasetLoader.load(DIR.resolve("recent-mixed.jsonl"));
        assertThat(d.layout()).isEqualTo(Layout.WIKI_RECENT);
        assertThat(d.records()).isEqualTo(5); // the blank line is not a record
        assertThat(d.cases()).extracting(EvalCase::index).containsExactly(0, 1);
        EvalCase rom = d.cases().get(0);
        assertThat(rom.groundTruth()).isNull();
        assertThat(rom.rephrasePrompt()).isNull();
        assertThat(rom.portability()).extracting(EvalItem::type, EvalItem::answer).containsExactly(
                org.assertj.core.groups.Tuple.tuple("Reasoning", "Ottawa"),
                org.assertj.core.groups.Tuple.tuple("Subject_Aliasing", "Canada"));
        assertThat(rom.locality()).isEmpty();
        assertThat(d.cases().get(1).locality()).extracting(EvalItem::type, EvalItem::answer).containsExactly(
                org.assertj.core.groups.Tuple.tuple("Relation_Specificity", "female"),
                org.assertj.core.groups.Tuple.tuple("Forgetfulness", "Egyptians"));
        assertThat(d.skipped()).extracting(Dataset.Skipped::index).containsExactly(2, 3, 4);
        assertThat(d.skipped().get(0).reason()).startsWith("line 4 is not valid JSON");
        assertThat(d.skipped().get(1).reason()).contains("empty alias list");
        assertThat(d.skipped().get(2).reason()).isEqualTo("missing 'prompt'");
    }

    @Test
    void counterfactFlatLayoutHasOneNeighborhoodLocalityItem() {
        Dataset d = DatasetLoader.load(DIR.resolve("counterfact.jsonl"));
        assertThat(d.layout()).isEqualTo(Layout.COUNTERFACT);
        EvalCase c = d.cases().get(0);
        assertThat(c.rephrasePrompt()).isEqualTo("Where Danielle Darrieux is from, people speak the language of");
        assertThat(c.groundTruth()).isEqualTo("French");
        assertThat(c.locality()).containsExactly(
                new EvalItem("Neighborhood", "Michel Rocard is a native speaker of", "French"));
        assertThat(c.portability()).isEmpty();
        assertThat(d.skipped()).singleElement().satisfies(s -> {
            assertThat(s.index()).isEqualTo(1);
            assertThat(s.reason()).isEqualTo("'locality_ground_truth' is empty");
        });
    }

    @Test
    void wikiCounterfactAndWikiBio() {
        Dataset cf = DatasetLoader.load(DIR.resolve("wiki-cf.json"));
        assertThat(cf.layout()).isEqualTo(Layout.WIKI_COUNTERFACT);
        assertThat(cf.cases()).hasSize(2);
        assertThat(cf.cases().get(0).portability()).extracting(EvalItem::type)
                .containsExactly("Reasoning", "Logical_Generalization", "Logical_Generalization");
        assertThat(cf.cases().get(0).locality()).extracting(EvalItem::type)
                .containsExactly("Relation_Specificity", "Forgetfulness");
        assertThat(cf.cases().get(0).rephrasePrompt()).isNull();
        // null sections and null lists are empty, not malformed
        assertThat(cf.cases().get(1).portability()).isEmpty();
        assertThat(cf.cases().get(1).locality()).isEmpty();

        Dataset bio = DatasetLoader.load(DIR.resolve("wikibio.json"));
        assertThat(bio.layout()).isEqualTo(Layout.WIKIBIO);
        EvalCase c = bio.cases().get(0);
        assertThat(c.prompt()).startsWith("This is a Wikipedia passage about john russell reynolds.");
        assertThat(c.targetNew()).isEqualTo("He received general education from his father.");
        assertThat(c.subject()).isEqualTo("john russell reynolds");
        assertThat(c.locality()).containsExactly(new EvalItem("Relation_Specificity",
                "The field of work of john russell reynolds is", "medicine"));
    }

    @Test
    void layoutIsRecognisedByContentNotByName(@TempDir Path tmp) throws Exception {
        Path disguised = tmp.resolve("zsre.json"); // a CounterFact file named like ZsRE
        Files.copy(DIR.resolve("counterfact.jsonl"), disguised);
        assertThat(DatasetLoader.load(disguised).layout()).isEqualTo(Layout.COUNTERFACT);
    }

    @Test
    void unknownLayoutsAndNonJsonAreRefusedWithTheFileNamed(@TempDir Path tmp) throws Exception {
        assertThatThrownBy(() -> DatasetLoader.load(DIR.resolve("mend-zsre.json")))
                .isInstanceOf(IceditException.class)
                .hasMessageContaining("mend-zsre.json: not a dataset layout the evaluation knows")
                .hasMessageContaining("[alt, answers, cond, loc, loc_ans, pred, rephrase, src, subject]");
        assertThatThrownBy(() -> DatasetLoader.load(DIR.resolve("not-json.txt")))
                .isInstanceOf(IceditException.class).hasMessageContaining("not-json.txt: not a JSON array or JSON lines");
        Path strings = Files.writeString(tmp.resolve("strings.json"), "[\"a fact.\", \"another fact.\"]");
        assertThatThrownBy(() -> DatasetLoader.load(strings)).hasMessageContaining("records are strings, not objects");
        Path broken = Files.writeString(tmp.resolve("broken.json"), "[{\"prompt\": \"x\",\n \"target_new\": }]");
        assertThatThrownBy(() -> DatasetLoader.load(broken)).hasMessageContaining("broken.json: invalid JSON at line 2");
        Path latin1 = Files.write(tmp.resolve("latin1.json"), "[{\"prompt\": \"caf\u00e9\"}]"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> DatasetLoader.load(latin1)).hasMessage(latin1 + ": not UTF-8 text (JSON files are"
                + " UTF-8)");
        Path empty = Files.writeString(tmp.resolve("empty.json"), "[]");
        assertThatThrownBy(() -> DatasetLoader.load(empty)).hasMessageContaining("empty.json: no records");
        assertThatThrownBy(() -> DatasetLoader.load(tmp.resolve("missing.json"))).hasMessageContaining("file not found");
    }

    @Test
    void aDatasetNestedDeeperThanTheParserAllowsFailsInOneLine(@TempDir Path tmp) throws Exception {
        Path deep = Files.writeString(tmp.resolve("deep.json"), "[".repeat(5000) + "]".repeat(5000));
        assertThatThrownBy(() -> DatasetLoader.load(deep)).isInstanceOf(IceditException.class)
                .hasMessageStartingWith(deep + ": invalid JSON: ").hasMessageContaining("nesting depth")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        Path deepLine = Files.writeString(tmp.resolve("deep.jsonl"), Files.readString(DIR.resolve("counterfact.jsonl"))
                + "{\"a\": " + "[".repeat(5000) + "]".repeat(5000) + "}\n");
        Dataset d = DatasetLoader.load(deepLine);
        assertThat(d.skipped()).last().satisfies(s -> assertThat(s.reason()).startsWith("line 3 is not valid JSON")
                .contains("nesting depth"));
    }

    @Test
    void aRecordWithAnUnpairedSurrogateIsSkippedAtLoadNotAfterTheRun(@TempDir Path tmp) throws Exception {
        // JSON lets a string hold half a surrogate pair; it is no character, and the report could not be written
        String records = Files.readString(DIR.resolve("tiny-zsre.json")).strip();
        String bad = "{\"prompt\": \"Who is \\ud800 the author?\", \"target_new\": \"x\", \"rephrase_prompt\": \"r\","
                + " \"locality\": {}, \"portability\": {}}";
        Path file = Files.writeString(tmp.resolve("surrogate.json"),
                records.substring(0, records.length() - 1) + ", " + bad + "]");
        Dataset d = DatasetLoader.load(file);
        assertThat(d.cases()).hasSize(3);
        assertThat(d.skipped()).singleElement().satisfies(s -> assertThat(s.reason())
                .isEqualTo("'prompt' contains an unpaired UTF-16 surrogate (\\ud800 at character 7), which is not"
                        + " valid Unicode"));
        // a well-formed pair (an emoji) is text like any other
        String emoji = bad.replace("\\ud800", "\\ud83d\\ude00");
        Path ok = Files.writeString(tmp.resolve("emoji.json"), records.substring(0, records.length() - 1) + ", "
                + emoji + "]");
        assertThat(DatasetLoader.load(ok).cases()).hasSize(4);
    }

    @Test
    void selectAppliesOffsetAndLimitToUsableCases() {
        Dataset d = DatasetLoader.load(DIR.resolve("tiny-zsre.json"));
        assertThat(d.select(1, 5)).extracting(EvalCase::index).containsExactly(1, 2);
        assertThat(d.select(0, 2)).extracting(EvalCase::index).containsExactly(0, 1);
        assertThat(d.select(3, null)).isEmpty();
    }
}
