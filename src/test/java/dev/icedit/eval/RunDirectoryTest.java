package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.icedit.eval.run.EditLogEntry;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run directory's crash tolerance and its settings check. */
class RunDirectoryTest {
    @Test
    void aTornLastLineIsDroppedAndADamagedMiddleLineRefused(@TempDir Path tmp) throws Exception {
        RunDirectory dir = new RunDirectory(tmp);
        dir.append(dir.edits(), new EditLogEntry(0, 4, 1.5, List.of(2.0, 1.0), null));
        dir.append(dir.edits(), new EditLogEntry(1, 5, 0.5, List.of(), "loss became NaN"));
        Files.writeString(dir.edits(), "{\"position\":2,\"ind", java.nio.file.StandardOpenOption.APPEND);

        List<EditLogEntry> read = dir.readLines(dir.edits(), EditLogEntry.class);
        assertThat(read).containsExactly(new EditLogEntry(0, 4, 1.5, List.of(2.0, 1.0), null),
                new EditLogEntry(1, 5, 0.5, List.of(), "loss became NaN"));
        assertThat(Files.readAllLines(dir.edits())).hasSize(2); // rewritten without the torn line
        dir.append(dir.edits(), new EditLogEntry(2, 6, 1.0, List.of(), null));
        assertThat(dir.readLines(dir.edits(), EditLogEntry.class)).hasSize(3);

        Files.writeString(dir.cases(), "{\"position\":0}\nnot json\n{\"position\":1}\n");
        assertThatThrownBy(() -> dir.readLines(dir.cases(), EditLogEntry.class)).isInstanceOf(IceditException.class)
                .hasMessageContaining("cases.jsonl: line 2 is damaged");
    }

    @Test
    void aSecondRunOnTheSameDirectoryIsRefusedUntilTheFirstEnds(@TempDir Path tmp) {
        RunDirectory dir = new RunDirectory(tmp);
        try (RunDirectory.Lock first = dir.lock()) {
            assertThatThrownBy(() -> new RunDirectory(tmp).lock()).isInstanceOf(IceditException.class)
                    .hasMessageContaining("another run is writing to this directory");
        }
        new RunDirectory(tmp).lock().close();
    }

    @Test
    void settingsMustMatchExceptThoseAllowedToDiffer(@TempDir Path tmp) {
        RunDirectory dir = new RunDirectory(tmp);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("method", "ICE");
        s.put("lr", 0.05);
        s.put("seed", 0L);
        s.put("limit", 2);
        dir.claim(s, Set.of("limit"));
        s.put("limit", null);
        dir.claim(s, Set.of("limit")); // numbers read back from disk compare equal; the limit may grow
        s.put("lr", 0.01);
        assertThatThrownBy(() -> dir.claim(s, Set.of("limit"))).isInstanceOf(IceditException.class)
                .hasMessageContaining("cannot be resumed: lr (was 0.05, now 0.01)");
    }

    @Test
    void aSettingAddedSinceAnEarlierRunIsComparedOnlyWhereThatRunRecordedIt(@TempDir Path tmp) {
        RunDirectory dir = new RunDirectory(tmp);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("method", "ICE");
        dir.claim(s, Set.of()); // a run from before model_defaults was recorded
        s.put("model_defaults", Map.of("top_k", 50));
        dir.claim(s, Set.of(), Set.of("model_defaults")); // resumes, and now records it
        s.put("model_defaults", Map.of("top_k", 20));
        assertThatThrownBy(() -> dir.claim(s, Set.of(), Set.of("model_defaults")))
                .isInstanceOf(IceditException.class).hasMessageContaining("model_defaults (was {\"top_k\":50}");
        RunDirectory other = new RunDirectory(tmp.resolve("other"));
        other.claim(Map.of("method", "ICE"), Set.of());
        assertThatThrownBy(() -> other.claim(s, Set.of())).isInstanceOf(IceditException.class); // not named newer
    }
}
