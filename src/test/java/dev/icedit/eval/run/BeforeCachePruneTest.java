package dev.icedit.eval.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-edit cache removes the directories no run opened for a while, and nothing else: a --cache folder may hold
 * other things, and those stay.
 */
class BeforeCachePruneTest {
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    private static final String SETTINGS = "{\"format\":\"icedit-before/1\",\"seed\":0}\n";

    private static Path cacheDir(Path root, String name, Duration age) throws Exception {
        Path d = Files.createDirectories(root.resolve(name));
        Files.writeString(d.resolve("settings.json"), SETTINGS);
        Files.writeString(d.resolve("0123456789abcdef0123456789abcdef01234567.json"), "{}");
        Files.writeString(d.resolve("last-used"), NOW.minus(age) + "\n");
        FileTime t = FileTime.from(NOW.minus(age));
        for (String f : new String[] {"settings.json", "last-used", "0123456789abcdef0123456789abcdef01234567.json"}) {
            Files.setLastModifiedTime(d.resolve(f), t);
        }
        return d;
    }

    @Test
    void directoriesUnusedForThirtyDaysGoTheRestStays(@TempDir Path root) throws Exception {
        Path old = cacheDir(root, "a".repeat(32), Duration.ofDays(31));
        Path recent = cacheDir(root, "b".repeat(32), Duration.ofDays(29));
        Path oldWithForeignFile = cacheDir(root, "c".repeat(32), Duration.ofDays(40));
        Files.writeString(oldWithForeignFile.resolve("notes.txt"), "mine");
        // not ours: another name, or no settings.json of this format
        Path otherName = cacheDir(root, "old-results", Duration.ofDays(400));
        Path otherFormat = cacheDir(root, "d".repeat(32), Duration.ofDays(400));
        Files.writeString(otherFormat.resolve("settings.json"), "{\"format\":\"something-else\"}");
        Files.setLastModifiedTime(otherFormat.resolve("settings.json"), FileTime.from(NOW.minus(Duration.ofDays(400))));
        Files.writeString(root.resolve("README.txt"), "a file beside the cache");
        // a link named like a cache directory, to an old cache directory elsewhere: not followed
        Path elsewhere = cacheDir(Files.createDirectories(root.resolve("kept-elsewhere")), "f".repeat(32),
                Duration.ofDays(400));
        Files.createSymbolicLink(root.resolve("9".repeat(32)), elsewhere);

        assertThat(BeforeCache.prune(root, BeforeCache.UNUSED_FOR, NOW)).isEqualTo(2);

        assertThat(old).doesNotExist();
        assertThat(recent.resolve("0123456789abcdef0123456789abcdef01234567.json")).exists();
        assertThat(oldWithForeignFile).isDirectory();
        try (var left = Files.list(oldWithForeignFile)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("notes.txt");
        }
        assertThat(otherName.resolve("0123456789abcdef0123456789abcdef01234567.json")).exists();
        assertThat(otherFormat.resolve("0123456789abcdef0123456789abcdef01234567.json")).exists();
        assertThat(root.resolve("README.txt")).exists();
        assertThat(elsewhere.resolve("0123456789abcdef0123456789abcdef01234567.json")).exists();
        // a second pass finds nothing more to remove
        assertThat(BeforeCache.prune(root, BeforeCache.UNUSED_FOR, NOW)).isZero();
    }

    @Test
    void withoutALastUsedStampTheSettingsFileSaysWhenTheDirectoryWasMade(@TempDir Path root) throws Exception {
        Path d = cacheDir(root, "e".repeat(32), Duration.ofDays(60));
        Files.delete(d.resolve("last-used")); // written by builds from before the stamp
        assertThat(BeforeCache.prune(root, BeforeCache.UNUSED_FOR, NOW)).isEqualTo(1);
        assertThat(d).doesNotExist();
    }
}
