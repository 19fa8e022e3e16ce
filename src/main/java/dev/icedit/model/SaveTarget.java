package dev.icedit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a save may replace. icedit recognises its own output by a manifest, {@value #MANIFEST}, that every save
 * writes last: {@code {"format": "icedit-save/1", "files": [...]}}, the files that save wrote. A directory holding
 * a valid manifest is a model icedit wrote and may be saved over; any other non-empty directory is refused unless
 * the caller asks to overwrite. Either way only the model's own files (config, weights, index, tokenizer files,
 * generation config, and the files the manifest lists) are replaced; everything else in the directory is kept.
 *
 * <p>Temporary siblings ({@code NAME.icedit-tmp-PID-ID}, {@code NAME.icedit-old-PID-ID}) carry the id of the
 * process that made them, so a later save can tell the leftovers of a killed save from those of a save running
 * now, and clean them up.
 */
public final class SaveTarget {
    public static final String MANIFEST = "icedit-save.json";
    static final String MANIFEST_FORMAT = "icedit-save/1";

    /** File names of a Hugging Face causal LM directory that a save replaces even when no manifest lists them. */
    private static final Set<String> MODEL_FILES = Set.of("config.json", "generation_config.json",
            WeightFiles.SINGLE, WeightFiles.INDEX, "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
            "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "vocab.txt",
            "chat_template.jinja", "chat_template.json", MANIFEST);
    private static final Pattern SHARD = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");
    private static final Pattern TEMPORARY = Pattern.compile("\\.icedit-(tmp|old)-(?:(\\d+)-)?[0-9a-f-]{36}");
    /** Temporaries this process is using right now (another thread may be saving). */
    private static final Set<Path> IN_USE = ConcurrentHashMap.newKeySet();

    /** What a directory holds, as far as saving into it is concerned. */
    public enum Kind {
        /** nothing there yet */
        ABSENT,
        /** an empty directory */
        EMPTY,
        /** a model directory icedit wrote (it holds a valid manifest) */
        ICEDIT_MODEL,
        /** a non-empty directory icedit did not write */
        OTHER
    }

    private SaveTarget() {}

    public static Kind kind(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return Kind.ABSENT;
        }
        if (!Files.isDirectory(dir)) {
            return Kind.OTHER;
        }
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) {
                return Kind.EMPTY;
            }
        } catch (IOException e) {
            return Kind.OTHER;
        }
        return manifestFiles(dir) != null ? Kind.ICEDIT_MODEL : Kind.OTHER;
    }

    /**
     * Refuses, with one line naming the directory, a target a save may not write: a file, a symbolic link, or a
     * non-empty directory icedit did not write unless {@code overwrite}. Returns what the target is.
     */
    public static Kind check(Path target, boolean overwrite) {
        Path dest = target.toAbsolutePath().normalize();
        if (dest.getParent() == null) {
            throw IceditException.inFile(dest, "cannot save to the file system root");
        }
        if (Files.isSymbolicLink(dest)) {
            throw IceditException.inFile(dest, "is a symbolic link; give the directory it points to");
        }
        if (Files.exists(dest) && !Files.isDirectory(dest)) {
            throw IceditException.inFile(dest, "exists and is not a directory");
        }
        Kind kind = kind(dest);
        if (kind == Kind.OTHER && !overwrite) {
            throw IceditException.inFile(dest, "is a non-empty directory that icedit did not write (it has no "
                    + MANIFEST + "); refusing to save into it (--overwrite replaces only its model files and keeps"
                    + " the rest)");
        }
        return kind;
    }

    /** Whether a file of a directory is one of the model's own files, which a save replaces. */
    static boolean isModelFile(String name) {
        return MODEL_FILES.contains(name) || SHARD.matcher(name).matches();
    }

    /** The files a directory's manifest lists, or null when it has no valid manifest. */
    static Set<String> manifestFiles(Path dir) {
        Path m = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(m, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        try {
            JsonNode root = ConfigJson.JSON.readTree(m.toFile());
            if (root == null || !MANIFEST_FORMAT.equals(root.path("format").asText(null))
                    || !root.path("files").isArray()) {
                return null;
            }
            Set<String> files = new LinkedHashSet<>();
            for (JsonNode f : root.path("files")) {
                String name = f.asText("");
                if (!f.isTextual() || !isPlainName(name)) {
                    return null;
                }
                files.add(name);
            }
            return files;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static byte[] manifest(Collection<String> files) throws IOException {
        ObjectNode root = ConfigJson.JSON.createObjectNode();
        root.put("format", MANIFEST_FORMAT);
        root.put("note", "written by icedit: the files of this model directory that icedit saved; a later save"
                + " replaces these and keeps every other file");
        ArrayNode list = root.putArray("files");
        files.forEach(list::add);
        return ConfigJson.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }

    static boolean isPlainName(String name) {
        return !name.isEmpty() && !name.contains("/") && !name.contains("\\") && !name.equals(".")
                && !name.equals("..") && name.indexOf('\0') < 0;
    }

    /**
     * A fresh temporary sibling of {@code target} (not created), named for this process; {@link #release} it when
     * done. {@code kind} is "tmp" (being written) or "old" (being replaced).
     */
    public static Path temporary(Path target, String kind) {
        Path p = target.resolveSibling(target.getFileName() + ".icedit-" + kind + "-" + ProcessHandle.current().pid()
                + "-" + UUID.randomUUID());
        IN_USE.add(p);
        return p;
    }

    public static void release(Path temporary) {
        IN_USE.remove(temporary);
    }

    /**
     * Leftover temporary siblings of {@code target} whose process is gone (killed mid-save), oldest first, of the
     * given kind ("tmp" or "old"). Those of an earlier icedit, named without a process id, count as left over.
     */
    static List<Path> stale(Path target, String kind) throws IOException {
        Path parent = target.getParent();
        List<Path> out = new ArrayList<>();
        if (parent == null || !Files.isDirectory(parent)) {
            return out;
        }
        String prefix = target.getFileName().toString();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!name.startsWith(prefix)) {
                    continue;
                }
                Matcher m = TEMPORARY.matcher(name.substring(prefix.length()));
                if (!m.matches() || !m.group(1).equals(kind) || IN_USE.contains(p)) {
                    continue;
                }
                if (m.group(2) != null) {
                    long pid = Long.parseLong(m.group(2));
                    boolean alive = pid != ProcessHandle.current().pid()
                            && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                    if (alive) {
                        continue;
                    }
                }
                out.add(p);
            }
        }
        out.sort(Comparator.comparing(p -> lastModified(p)));
        return out;
    }

    /** Deletes the temporaries of kind "tmp" that killed saves left beside {@code target}. */
    public static void removeStaleTemporaries(Path target) {
        try {
            for (Path p : stale(target, "tmp")) {
                ModelWriter.deleteTree(p);
            }
        } catch (IOException e) {
            throw IceditException.inFile(target, "cannot remove a temporary file left by an interrupted save: "
                    + e.getMessage());
        }
    }

    private static long lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
