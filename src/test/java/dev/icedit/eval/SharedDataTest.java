package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.eval.data.Dataset;
import dev.icedit.eval.data.DatasetLoader;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.eval.data.EvalItem;
import dev.icedit.eval.data.Layout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The loaders on the real KnowEdit and CounterFact files in ../shared/data (skipped, loudly, without them). */
class SharedDataTest {
    static final Path DATA = Path.of("../shared/data");

    @BeforeAll
    static void needSharedData() {
        boolean present = Files.isDirectory(DATA.resolve("knowedit/benchmark"));
        if (!present) {
            System.err.println("SKIPPED SharedDataTest: " + DATA.toAbsolutePath() + " is absent");
        }
        Assumptions.assumeTrue(present, "../shared/data is absent: real-file loader tests skipped");
    }

    private static Dataset load(String path) {
        return DatasetLoader.load(DATA.resolve(path));
    }

    @Test
    void zsre() {
        Dataset d = load("knowedit/benchmark/ZsRE/ZsRE-test-all.json");
        assertThat(d.layout()).isEqualTo(Layout.ZSRE);
        assertThat(d.records()).isEqualTo(1301);
        assertThat(d.skipped()).isEmpty();
        EvalCase c = d.cases().get(0);
        assertThat(c.prompt()).isEqualTo("Which family does Epaspidoceras belong to?");
        assertThat(c.targetNew()).isEqualTo("Noctuidae");
        assertThat(c.groundTruth()).isEqualTo("Aspidoceratidae"); // ["Aspidoceratidae"]: the first alias
        assertThat(c.rephrasePrompt()).isEqualTo("What family are Epaspidoceras?");
        assertThat(c.locality()).extracting(EvalItem::answer).containsExactly("genus", "genus");
        assertThat(c.portability()).containsExactly(new EvalItem("Reasoning",
                "What is the common name for the family Epaspidoceras belongs to?", "Owlet moths"));
        assertThat(d.cases()).allSatisfy(x -> assertThat(x.portability()).isNotEmpty());
        // every ZsRE record has exactly one portability type and two locality items
        assertThat(d.cases()).allSatisfy(x -> assertThat(x.portability().stream().map(EvalItem::type).distinct()).hasSize(1));
        assertThat(d.cases().stream().mapToInt(x -> x.locality().size()).sum()).isEqualTo(2602);
    }

    @Test
    void wikiCounterfact() {
        Dataset d = load("knowedit/benchmark/wiki_counterfact/train_cf.json");
        assertThat(d.layout()).isEqualTo(Layout.WIKI_COUNTERFACT);
        assertThat(d.cases()).hasSize(1427);
        assertThat(d.cases().get(0).targetNew()).isEqualTo("Franche-Comt\u00e9");
        assertThat(d.cases().get(0).groundTruth()).isEqualTo("France");
        assertThat(d.cases().get(0).portability()).extracting(EvalItem::type, EvalItem::answer).containsExactly(
                org.assertj.core.groups.Tuple.tuple("Reasoning", "Besan\u00e7on"),
                org.assertj.core.groups.Tuple.tuple("Subject_Aliasing", "Franche-Comt\u00e9"));
        assertThat(d.cases().stream().mapToLong(x -> x.locality().stream()
                .filter(i -> i.type().equals("Forgetfulness")).count()).sum()).isEqualTo(781);
    }

    @Test
    void wikiRecent() {
        Dataset d = load("knowedit/benchmark/wiki_recent/recent_train.json");
        assertThat(d.layout()).isEqualTo(Layout.WIKI_RECENT);
        assertThat(d.cases()).hasSize(570);
        EvalCase first = d.cases().get(0);
        assertThat(first.subject()).isEqualTo("Ingr\u012bda Amantova");
        assertThat(first.groundTruth()).isNull();
        assertThat(first.portability()).isEmpty();
        // [["Soviet Union", "USSR", ...]]: the first alias of the first list
        assertThat(first.locality()).extracting(EvalItem::answer).startsWith("C\u0113sis", "Soviet Union",
                "University of Latvia");
        // no record has both portability and locality
        assertThat(d.cases()).noneSatisfy(x -> {
            assertThat(x.portability()).isNotEmpty();
            assertThat(x.locality()).isNotEmpty();
        });
    }

    @Test
    void wikiBio() {
        Dataset d = load("knowedit/benchmark/WikiBio/wikibio-test-all.json");
        assertThat(d.layout()).isEqualTo(Layout.WIKIBIO);
        assertThat(d.cases()).hasSize(306);
        assertThat(d.cases().get(0).subject()).isEqualTo("john russell reynolds");
        assertThat(d.cases().get(0).locality()).isNotEmpty().allSatisfy(i -> assertThat(i.type()).isEqualTo("Relation_Specificity"));
    }

    @Test
    void counterfactFlat() {
        Dataset d = load("easyedit_factual/counterfact/counterfact-edit.json");
        assertThat(d.layout()).isEqualTo(Layout.COUNTERFACT);
        assertThat(d.cases()).hasSize(10000);
        EvalCase c = d.cases().get(0);
        assertThat(c.prompt()).isEqualTo("The mother tongue of Danielle Darrieux is");
        assertThat(c.targetNew()).isEqualTo("English");
        assertThat(c.locality()).containsExactly(new EvalItem("Neighborhood", "Michel Rocard is a native speaker of", "French"));
    }

    @Test
    void theEarlierRevisionsMalformedRecordsAreSkippedWithReasons() {
        // the Feb 2024 revision has empty answers and empty alias lists in a few locality items
        Dataset cf = load("knowedit-2024-02/benchmark/wiki_counterfact/train_cf.json");
        assertThat(cf.records()).isEqualTo(1428);
        assertThat(cf.skipped()).extracting(Dataset.Skipped::index).containsExactly(326, 489);
        assertThat(cf.skipped().get(0).reason()).isEqualTo("'locality.Forgetfulness[0].ground_truth' is empty");
        assertThat(cf.cases()).hasSize(1426);
        Dataset recent = load("knowedit-2024-02/benchmark/wiki_recent/recent_train.json");
        assertThat(recent.skipped()).extracting(Dataset.Skipped::index).containsExactly(3, 138, 209, 219, 297, 419, 567);
        assertThat(recent.skipped()).allSatisfy(s -> assertThat(s.reason()).contains("empty alias list"));
        assertThat(recent.cases()).hasSize(563);
    }

    @Test
    void filesOfOtherLayoutsAreRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> load("easyedit_factual/portability_one_hop/zsre_mend_eval_portability_gpt4.json"))
                .hasMessageContaining("not a dataset layout the evaluation knows");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> load("pararel/trex_lms_vocab/P19.jsonl"))
                .hasMessageContaining("not a dataset layout the evaluation knows");
    }
}
