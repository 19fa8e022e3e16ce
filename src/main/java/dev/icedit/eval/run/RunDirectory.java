package dev.icedit.eval.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The files of an evaluation run in its output directory. JSON-lines files get one line per finished unit of work,
 * written and flushed to disk before the run goes on, so an interrupted run loses at most the unit in progress; a
 * torn last line (the process died while writing it) is dropped when the file is read back.
 */
public final class RunDirectory {
    /** snake_case field names for every file the run writes. */
    public static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private final Path dir;

    public RunDirectory(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
        if (Files.exists(this.dir) && !Files.isDirectory(this.dir)) {
            throw IceditException.inFile(this.dir, "--out must be a directory, this is a file");
        }
        try {
            Files.createDirectories(this.dir);
        } catch (IOException e) {
            throw IceditException.inFile(this.dir, "cannot create the output directory: " + e.getMessage());
        }
    }

    public Path path() {
        return dir;
    }

    public Path runJson() {
        return dir.resolve("run.json");
    }

    public Path cases() {
        return dir.resolve("cases.jsonl");
    }

    public Path curve() {
        return dir.resolve("curve.jsonl");
    }

    public Path edits() {
        return dir.resolve("edits.jsonl");
    }

    /** The continual run's accumulated edits as one patch: every changed weight, unedited and current. */
    public Path statePatch() {
        return dir.resolve("patches").resolve("continual-state.safetensors");
    }

    /** The keys the edit of case {@code position} wrote, for methods that remember them (continual runs). */
    public Path editedKeys(int position) {
        return dir.resolve("patches").resolve("keys").resolve(String.format(java.util.Locale.ROOT, "edit-%06d.safetensors",
                position));
    }

    public Path summary() {
        return dir.resolve("summary.json");
    }

    public Path report() {
        return dir.resolve("report.html");
    }

    /**
     * Takes the directory for this process until the returned handle is closed (an OS file lock on {@code .lock},
     * released by the OS if the process dies). Two runs writing one directory would interleave their lines, so a
     * second one is refused.
     */
    public Lock lock() {
        Path file = dir.resolve(".lock");
        FileChannel channel;
        boolean locked;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot lock the output directory: " + e.getMessage());
        }
        try {
            locked = channel.tryLock() != null; // null: another process holds it
        } catch (java.nio.channels.OverlappingFileLockException e) {
            locked = false; // this process holds it
        } catch (IOException e) {
            closeQuietly(channel);
            throw IceditException.inFile(file, "cannot lock the output directory: " + e.getMessage());
        }
        if (!locked) {
            closeQuietly(channel);
            throw IceditException.inFile(dir, "another run is writing to this directory; wait for it to finish or"
                    + " use another --out directory");
        }
        return () -> closeQuietly(channel); // closing the channel releases its lock
    }

    /** A held directory lock; closing it releases the lock. */
    public interface Lock extends AutoCloseable {
        @Override
        void close();
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do: the OS drops the lock with the process at the latest
        }
    }

    /**
     * Records the run's settings in run.json, or, when the directory holds an earlier run, checks that it had the
     * same settings: every key but those in {@code mayDiffer} must be equal, or the resume is refused.
     */
    public void claim(Map<String, Object> settings, Set<String> mayDiffer) {
        claim(settings, mayDiffer, Set.of());
    }

    /**
     * The same, where the keys in {@code newer} are settings that runs of earlier versions did not record: an
     * earlier run.json without them resumes, one with them must agree.
     */
    public void claim(Map<String, Object> settings, Set<String> mayDiffer, Set<String> newer) {
        JsonNode now;
        try {
            now = JSON.readTree(JSON.writeValueAsString(settings)); // as read back from disk: numbers compare alike
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (Files.exists(runJson())) {
            JsonNode before;
            try {
                before = JSON.readTree(runJson().toFile());
            } catch (IOException e) {
                throw IceditException.inFile(runJson(), "cannot read the earlier run's settings: " + e.getMessage());
            }
            List<String> differ = new ArrayList<>();
            for (Iterator<String> it = now.fieldNames(); it.hasNext();) {
                String k = it.next();
                if (newer.contains(k) && !before.has(k)) {
                    continue;
                }
                if (!mayDiffer.contains(k) && !now.get(k).equals(before.get(k))) {
                    differ.add(k + " (was " + before.get(k) + ", now " + now.get(k) + ")");
                }
            }
            if (!differ.isEmpty()) {
                throw IceditException.inFile(dir, "holds a run with other settings, so it cannot be resumed: "
                        + String.join("; ", differ) + ". Use another --out directory");
            }
        }
        writeJson(runJson(), settings);
    }

    /** Writes a JSON file atomically (a temporary file, then a rename). */
    public void writeJson(Path file, Object value) {
        try {
            write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value) + "\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a text file atomically. */
    public static void write(Path file, String text) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot write: " + e.getMessage());
        }
    }

    /** Appends one JSON line and forces it to disk. */
    public void append(Path file, Object value) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap((JSON.writeValueAsString(value) + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.force(false);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot write: " + e.getMessage());
        }
    }

    /**
     * Reads a JSON-lines file (absent: empty). A last line that does not parse is a write the process did not
     * finish: it is dropped and the file rewritten without it. A bad line elsewhere means the file was damaged.
     */
    public <T> List<T> readLines(Path file, Class<T> type) {
        if (!Files.exists(file)) {
            return new ArrayList<>();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
        List<T> out = new ArrayList<>();
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(JSON.readValue(line, type));
                kept.add(line);
            } catch (JsonProcessingException e) {
                boolean last = lines.subList(i + 1, lines.size()).stream().allMatch(String::isBlank);
                if (!last) {
                    throw IceditException.inFile(file, "line " + (i + 1) + " is damaged (" + e.getOriginalMessage()
                            + "); remove it to resume");
                }
                rewriteLines(file, kept);
            }
        }
        return out;
    }

    /** Replaces a JSON-lines file with the given values. */
    public void rewrite(Path file, List<?> values) {
        List<String> lines = new ArrayList<>();
        for (Object v : values) {
            try {
                lines.add(JSON.writeValueAsString(v));
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }
        rewriteLines(file, lines);
    }

    private static void rewriteLines(Path file, List<String> lines) {
        StringBuilder sb = new StringBuilder();
        lines.forEach(l -> sb.append(l).append('\n'));
        write(file, sb.toString());
    }
}
