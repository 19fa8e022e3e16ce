package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.edit.memit.Memit;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.Rome;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.testing.Golden;
import dev.icedit.testing.ProcessMemory;
import dev.icedit.testing.TestCorpus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Repeated ROME and MEMIT edits (statistics, prefixes, target vectors, updates) leave no native arrays behind. */
class LocateMemoryTest {
    static final EditRequest FACT = new EditRequest("The Eiffel Tower is located in", "Rome", "Eiffel Tower", List.of());
    @TempDir Path tmp;

    @Test
    void repeatedEditsDoNotLeakNativeArrays() throws Exception {
        Path corpus = TestCorpus.write(tmp.resolve("corpus"), 3, 250, 11);
        String stats = tmp.resolve("stats").toString();
        List<Editor> editors = List.of(
                new Rome(new RomeHyperParams("ROME", List.of(1), null, 3, 0.5, null, 1e-3, 4, 0.0625, true,
                        List.of(List.of(3, 2)), corpus.toString(), 24, "float32", stats, 0L)),
                new Memit(new MemitHyperParams("MEMIT", List.of(0, 1), null, 3, 0.5, null, 1e-3, 4, 0.0625, 100,
                        List.of(List.of(3, 2)), corpus.toString(), 24, "float32", stats, 0L)));
        try (LanguageModel m = LanguageModel.load(Golden.ROOT.resolve("llama"))) {
            EditJournal j = new EditJournal(m);
            for (Editor e : editors) {
                j.revert(j.apply(e.edit(m, List.of(FACT), EditProgress.NONE)).id(), false);
            }
            int arrays = m.manager().getManagedArrays().size();
            long rss = ProcessMemory.rss();
            for (int i = 0; i < 10; i++) {
                for (Editor e : editors) {
                    j.revert(j.apply(e.edit(m, List.of(FACT, FACT), EditProgress.NONE)).id(), false);
                }
            }
            System.out.printf("[memory] 10 ROME + 10 MEMIT edit/revert cycles: live arrays %d -> %d, resident %.1f ->"
                    + " %.1f MB%n", arrays, m.manager().getManagedArrays().size(), rss / 1e6, ProcessMemory.rss() / 1e6);
            assertThat(m.manager().getManagedArrays().size()).isEqualTo(arrays);
        }
    }
}
