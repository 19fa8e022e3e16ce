package dev.icedit.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A save replaces only what icedit wrote: a directory that is not an icedit model is refused unless the caller asks
 * to overwrite, and even then only the model's files in it are replaced; files added to a saved model survive the
 * next save; a killed save's leftovers are cleaned, or put back, by the next save.
 */
class SaveRulesTest {
    static final Path LLAMA = Path.of("src/test/resources/golden/llama");
    static final Path GPT2 = Path.of("src/test/resources/golden/gpt2");
    @TempDir Path tmp;

    static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFolderIceditDidNotWriteIsRefusedAndOnlyItsModelFilesAreOverwritten() throws Exception {
        Path project = tmp.resolve("p");
        Files.createDirectories(project.resolve("src"));
        Files.writeString(project.resolve("config.json"), "{}");
        Files.writeString(project.resolve("src/main.py"), "x");
        Files.writeString(project.resolve("README.md"), "my project");
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            assertThatThrownBy(() -> m.save(project)).isInstanceOf(IceditException.class)
                    .hasMessageContaining(project.toAbsolutePath() + ": is a non-empty directory that icedit did not"
                            + " write").hasMessageContaining("--overwrite");
            assertThat(names(project)).containsExactly("README.md", "config.json", "src");
            assertThat(project.resolve("config.json")).hasContent("{}");

            m.save(project, true);
        }
        assertThat(project.resolve("src/main.py")).hasContent("x");
        assertThat(project.resolve("README.md")).hasContent("my project");
        assertThat(Files.mismatch(project.resolve("config.json"), LLAMA.resolve("config.json"))).isEqualTo(-1L);
        assertThat(SaveTarget.kind(project)).isEqualTo(SaveTarget.Kind.ICEDIT_MODEL);
        assertThat(SaveTarget.manifestFiles(project)).contains("config.json", "model-00001-of-00005.safetensors")
                .doesNotContain("README.md", "src");
        try (LanguageModel saved = LanguageModel.load(project)) {
            assertThat(saved.config().numLayers()).isEqualTo(3);
        }
        assertThat(names(tmp)).containsExactly("p");
    }

    @Test
    void aSavedModelIsSavedOverAndTheFilesAddedToItStay() throws Exception {
        Path out = tmp.resolve("out");
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            m.save(out);
        }
        Files.writeString(out.resolve("NOTES.md"), "mine");
        Files.createDirectories(out.resolve("runs/a"));
        Files.writeString(out.resolve("runs/a/result.json"), "{\"x\": 1}");
        // a different model (one file, other names) over it: the llama's shards and index go, the user's files stay
        try (LanguageModel m = LanguageModel.load(GPT2)) {
            m.save(out);
        }
        assertThat(names(out)).contains("NOTES.md", "runs", "model.safetensors", "config.json", SaveTarget.MANIFEST)
                .noneMatch(n -> n.startsWith("model-0000")).doesNotContain("model.safetensors.index.json");
        assertThat(out.resolve("NOTES.md")).hasContent("mine");
        assertThat(out.resolve("runs/a/result.json")).hasContent("{\"x\": 1}");
        try (LanguageModel saved = LanguageModel.load(out)) {
            assertThat(saved.config().modelType()).isEqualTo("gpt2");
        }
        assertThat(names(tmp)).containsExactly("out");
    }

    @Test
    void filesLinksAndTheRootAreRefused() throws Exception {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), Files.createDirectories(tmp.resolve("real")));
        try (LanguageModel m = LanguageModel.load(GPT2)) {
            assertThatThrownBy(() -> m.save(file)).hasMessageContaining("exists and is not a directory");
            assertThatThrownBy(() -> m.save(link)).hasMessageContaining("is a symbolic link");
            assertThatThrownBy(() -> m.save(Path.of("/"))).hasMessageContaining("file system root");
            m.save(tmp.resolve("real")); // an empty directory is fine
        }
        assertThat(file).hasContent("x");
        assertThat(SaveTarget.kind(tmp.resolve("real"))).isEqualTo(SaveTarget.Kind.ICEDIT_MODEL);
    }

    @Test
    void aKilledSavesTemporaryDirectoryIsRemovedByTheNextSave() throws Exception {
        Path out = tmp.resolve("out");
        // what a save killed while writing leaves: a half-written sibling named for a process that is gone, and one
        // from an earlier icedit (no process id); a live process's temporary is someone else's save in progress
        Path dead = Files.createDirectories(tmp.resolve("out.icedit-tmp-" + deadPid() + "-" + UUID.randomUUID()));
        Files.write(dead.resolve("model-00001-of-00005.safetensors"), new byte[16_000]);
        Path legacy = Files.createDirectories(tmp.resolve("out.icedit-tmp-" + UUID.randomUUID()));
        Path live = Files.createDirectories(tmp.resolve("out.icedit-tmp-" + ProcessHandle.current().parent()
                .orElseThrow().pid() + "-" + UUID.randomUUID()));
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            m.save(out);
        }
        assertThat(dead).doesNotExist();
        assertThat(legacy).doesNotExist();
        assertThat(live).exists();
    }

    @Test
    void aSaveKilledBetweenItsRenamesIsPutBackByTheNextSave() throws Exception {
        Path out = tmp.resolve("out");
        Path original;
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            m.save(out);
            Files.writeString(out.resolve("NOTES.md"), "mine");
            // killed after moving the old directory aside, before moving the new one in
            original = tmp.resolve("out.icedit-old-" + deadPid() + "-" + UUID.randomUUID());
            Files.move(out, original);
            String name = m.config().mlpOutputWeight(0);
            NDArray changed = m.currentWeights().get(name).add(1f);
            m.install(Map.of(name, changed));
            m.save(out);
        }
        assertThat(original).doesNotExist();
        assertThat(out.resolve("NOTES.md")).hasContent("mine");
        assertThat(names(tmp)).containsExactly("out");
    }

    @Test
    void aFailedSaveLeavesTheTargetAndItsOtherFilesAsTheyWere() throws Exception {
        Path out = tmp.resolve("out");
        try (LanguageModel m = LanguageModel.load(LLAMA)) {
            m.save(out);
            Files.writeString(out.resolve("NOTES.md"), "mine");
            String name = m.config().mlpOutputWeight(0);
            NDArray broken = m.currentWeights().get(name).add(1f);
            m.install(Map.of(name, broken));
            broken.close(); // reading it during the save fails half-way through the shards
            assertThatThrownBy(() -> m.save(out)).isInstanceOf(RuntimeException.class);
        }
        assertThat(names(tmp)).containsExactly("out");
        assertThat(out.resolve("NOTES.md")).hasContent("mine");
        try (LanguageModel a = LanguageModel.load(LLAMA); LanguageModel b = LanguageModel.load(out)) {
            for (String n : a.currentWeights().names()) {
                assertThat(b.currentWeights().get(n).contentEquals(a.currentWeights().get(n))).as(n).isTrue();
            }
        }
    }

    /** A process id no process has now. */
    static long deadPid() {
        long pid = 4_000_000;
        while (ProcessHandle.of(pid).isPresent()) {
            pid++;
        }
        return pid;
    }
}
