package dev.icedit.eval.data;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.icedit.model.tokenizer.Unicode;
import dev.icedit.testing.FuzzProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link DatasetLoader#load}: any bytes as an evaluation file load, every usable case holding non-blank,
 * valid Unicode prompts and answers and every record counted as a case or as skipped, or are refused in one line
 * naming the file. Seeds are the evaluation tests' files and the bad inputs of issue 12, in
 * src/test/resources/dev/icedit/eval/data/DatasetFuzzTestInputs.
 */
class DatasetFuzzTest {
    @TempDir static Path dir;

    // dictionary entries are in libFuzzer's syntax: \\ is a backslash, \xNN a byte

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"prompt\"", "\"target_new\"", "\"ground_truth\"", "\"rephrase_prompt\"", "\"subject\"",
        "\"portability\"", "\"locality\"", "\"cond\"", "\"text\"", "\"labels\"", "\"concept\"",
        "\"locality_prompt\"", "\"locality_ground_truth\"", "\"Relation_Specificity\"", "\"Subject_Aliasing\"",
        "\\\\ud800", "\\\\ude00", "\\xEF\\xBB\\xBF", "[[", "null", "\\x0A"})
    void datasetFile(byte[] input) throws Exception {
        Path file = dir.resolve("data.json");
        Files.write(file, input);
        FuzzProperty.acceptedOrRefusedInOneLine(file, () -> {
            Dataset d = DatasetLoader.load(file);
            if (d.cases().size() + d.skipped().size() != d.records() || d.records() == 0) {
                throw new AssertionError(d.records() + " records, " + d.cases().size() + " cases, "
                        + d.skipped().size() + " skipped");
            }
            for (EvalCase c : d.cases()) {
                for (String text : new String[] {c.prompt(), c.targetNew()}) {
                    if (text == null || text.isBlank() || Unicode.unpairedSurrogate(text) >= 0) {
                        throw new AssertionError("case " + c.index() + " has text '" + text + "'");
                    }
                }
                for (EvalItem item : c.portability()) {
                    checkItem(c, item);
                }
                for (EvalItem item : c.locality()) {
                    checkItem(c, item);
                }
            }
        });
    }

    private static void checkItem(EvalCase c, EvalItem item) {
        if (item.prompt().isBlank() || item.answer().isBlank() || Unicode.unpairedSurrogate(item.prompt()) >= 0
                || Unicode.unpairedSurrogate(item.answer()) >= 0) {
            throw new AssertionError("case " + c.index() + " has item " + item);
        }
    }
}
