package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import dev.icedit.tensor.StoredTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves a model as a Hugging Face directory with the tensor names, dtypes and shard layout it was loaded with.
 * Tensors that were not changed are copied byte for byte from the source files; changed ones are converted to
 * their disk dtype ({@link StoredTensor#encode}). The other files of the source directory (config, tokenizer, ...)
 * are copied as they are, and a manifest ({@link SaveTarget#MANIFEST}) lists what was written.
 *
 * <p>What may be replaced is decided by {@link SaveTarget}: a new or empty directory, or one icedit wrote; any
 * other non-empty directory only when the caller asks to overwrite. Even then only the model's own files are
 * replaced: every other file and directory in the target is kept (hard-linked, or copied where links are not
 * possible, into the new directory before the swap).
 *
 * <p>The write is atomic: everything goes to a temporary sibling directory, is flushed, and then replaces the
 * target by rename. If the process dies before the final rename, the target still holds the old model; if it dies
 * between the two renames, the old directory is intact in {@code TARGET.icedit-old-*} and the next save to the
 * same target puts it back before anything else. A killed save's temporary directory is removed by the next save.
 */
final class ModelWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ModelWriter.class);

    private ModelWriter() {}

    static void write(LanguageModel model, Weights w, Path target, boolean overwrite) throws IOException {
        Path dest = target.toAbsolutePath().normalize();
        Path parent = dest.getParent();
        if (parent == null) {
            throw IceditException.inFile(dest, "cannot save to the file system root");
        }
        recoverInterrupted(dest);
        SaveTarget.Kind kind = SaveTarget.check(dest, overwrite);
        Set<String> ours = kind == SaveTarget.Kind.ICEDIT_MODEL ? SaveTarget.manifestFiles(dest) : Set.of();
        List<String> kept = kind == SaveTarget.Kind.ABSENT || kind == SaveTarget.Kind.EMPTY ? List.of()
                : keptEntries(dest, ours);
        Files.createDirectories(parent);
        Path tmp = SaveTarget.temporary(dest, "tmp");
        try {
            Files.createDirectory(tmp);
            List<String> written = writeInto(model, w, tmp, dest, new HashSet<>(kept));
            for (String k : kept) {
                mirror(dest.resolve(k), tmp.resolve(k));
            }
            writeSynced(tmp.resolve(SaveTarget.MANIFEST), SaveTarget.manifest(written));
            fsyncDirectory(tmp);
            replace(tmp, dest);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        } finally {
            SaveTarget.release(tmp);
        }
    }

    /** Entries of the target that are not the model's: neither a model file nor listed in its manifest. */
    private static List<String> keptEntries(Path dest, Set<String> ours) throws IOException {
        List<String> kept = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dest)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!SaveTarget.isModelFile(name) && !ours.contains(name)) {
                    kept.add(name);
                }
            }
        }
        kept.sort(String::compareTo);
        return kept;
    }

    /** Writes the model's files into {@code out}; returns their names. Names in {@code kept} belong to the target. */
    private static List<String> writeInto(LanguageModel model, Weights w, Path out, Path dest, Set<String> kept)
            throws IOException {
        WeightFiles files = model.files();
        List<String> written = new ArrayList<>();
        Map<String, String> canonicalOf = new HashMap<>();
        model.diskNames().forEach((canonical, disk) -> canonicalOf.put(disk, canonical));
        for (Map.Entry<String, SafetensorsFile> shard : files.files.entrySet()) {
            SafetensorsFile source = shard.getValue();
            List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
            for (SafetensorsFile.Entry e : source.entries().values()) {
                String canonical = canonicalOf.get(e.name());
                boolean changed = canonical != null && w.get(canonical) != model.loaded(canonical);
                if (changed) {
                    NDArray value = w.get(canonical);
                    tensors.add(new SafetensorsWriter.Tensor(e.name(), e.dtype(), e.shape(),
                            () -> StoredTensor.encode(value, e.dtype())));
                } else {
                    tensors.add(new SafetensorsWriter.Tensor(e.name(), e.dtype(), e.shape(), () -> source.map(e)));
                }
            }
            SafetensorsWriter.write(out.resolve(shard.getKey()), tensors, source.metadata());
            written.add(shard.getKey());
        }
        Path sourceDir = model.directory();
        if (files.sharded) {
            // The index is rewritten rather than copied so that it always matches the shards written above.
            ObjectNode index = ConfigJson.JSON.createObjectNode();
            ObjectNode meta = index.putObject("metadata");
            long total = 0;
            for (SafetensorsFile f : files.files.values()) {
                for (SafetensorsFile.Entry e : f.entries().values()) {
                    total += e.byteSize();
                }
            }
            files.indexMetadata.forEach(meta::put);
            meta.put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            files.weightMap.forEach(map::put);
            writeSynced(out.resolve(WeightFiles.INDEX), ConfigJson.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
            written.add(WeightFiles.INDEX);
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(sourceDir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!Files.isRegularFile(p) || files.files.containsKey(name) || name.equals(WeightFiles.INDEX)
                        || name.equals(SaveTarget.MANIFEST)) {
                    continue;
                }
                if (kept.contains(name)) {
                    if (!Files.isSameFile(p, dest.resolve(name))) { // saving over the model's own directory: it is
                        LOG.warn("{}: the target already has a '{}' that icedit did not write; it is kept, and the"
                                + " model's own '{}' is not copied", dest, name, name);
                    }
                    continue;
                }
                Files.copy(p, out.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
                fsync(out.resolve(name));
                written.add(name);
            }
        }
        written.sort(String::compareTo);
        return written;
    }

    /** Puts {@code from} (a file, link or directory tree of the target) at {@code to}: hard links where possible. */
    private static void mirror(Path from, Path to) throws IOException {
        if (Files.isSymbolicLink(from)) {
            Files.copy(from, to, LinkOption.NOFOLLOW_LINKS);
        } else if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(to);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(from)) {
                for (Path p : ds) {
                    mirror(p, to.resolve(p.getFileName().toString()));
                }
            }
            copyAttributes(from, to);
        } else if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createLink(to, from);
            } catch (IOException | UnsupportedOperationException noLinks) {
                Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            }
        } else {
            throw IceditException.inFile(from, "is neither a file, a directory nor a symbolic link; refusing to save"
                    + " into the directory that holds it");
        }
    }

    private static void copyAttributes(Path from, Path to) {
        try {
            Files.setLastModifiedTime(to, Files.getLastModifiedTime(from, LinkOption.NOFOLLOW_LINKS));
            Files.setPosixFilePermissions(to, Files.getPosixFilePermissions(from, LinkOption.NOFOLLOW_LINKS));
        } catch (IOException | UnsupportedOperationException ignored) {
            // attributes are a courtesy; the contents are what must survive
        }
    }

    private static void replace(Path tmp, Path dest) throws IOException {
        if (!Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(dest.getParent());
            return;
        }
        Path old = SaveTarget.temporary(dest, "old");
        try {
            Files.move(dest, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(dest.getParent());
            retire(old, dest);
        } finally {
            SaveTarget.release(old);
        }
    }

    /**
     * Puts right what a killed save left beside {@code dest}: an old directory moved aside is put back when the
     * target is missing (the save died between its two renames) or else retired into it; temporaries are removed.
     */
    static void recoverInterrupted(Path dest) throws IOException {
        for (Path old : SaveTarget.stale(dest, "old")) {
            if (!Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
                LOG.warn("{}: putting back the directory an interrupted save had moved to {}", dest, old);
                Files.move(old, dest, StandardCopyOption.ATOMIC_MOVE);
            } else {
                retire(old, dest);
            }
        }
        SaveTarget.removeStaleTemporaries(dest);
    }

    /**
     * Removes the directory a save replaced, once the new one is in place: its model files and the files its
     * manifest lists go; whatever else it holds is already in the new directory (the same file, linked) or, if it
     * appeared during the save, is moved there. Anything that cannot be merged stays in {@code old}, with a warning.
     */
    private static void retire(Path old, Path dest) {
        Set<String> ours = SaveTarget.manifestFiles(old);
        try {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(old)) {
                for (Path p : ds) {
                    String name = p.getFileName().toString();
                    if (SaveTarget.isModelFile(name) || ours != null && ours.contains(name)) {
                        deleteTree(p);
                    } else {
                        merge(p, dest.resolve(name));
                    }
                }
            }
            Files.delete(old);
        } catch (DirectoryNotEmptyException e) {
            LOG.warn("{}: kept, because it holds files that differ from those now in {}", old, dest);
        } catch (IOException e) {
            // the new model is in place; what is left is the previous directory, which the next save retires again
            LOG.warn("{}: could not remove the previous version of {} ({})", old, dest, e.toString());
        }
    }

    private static void merge(Path from, Path to) throws IOException {
        if (!Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        boolean fromDir = Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS);
        if (fromDir && Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(from)) {
                for (Path p : ds) {
                    merge(p, to.resolve(p.getFileName().toString()));
                }
            }
            try {
                Files.delete(from);
            } catch (DirectoryNotEmptyException keep) {
                // something in it differs; retire() warns about the old directory
            }
            return;
        }
        if (!fromDir && sameContents(from, to)) {
            Files.delete(from);
        }
    }

    private static boolean sameContents(Path a, Path b) throws IOException {
        if (Files.isSymbolicLink(a) || Files.isSymbolicLink(b)) {
            return Files.isSymbolicLink(a) && Files.isSymbolicLink(b)
                    && Files.readSymbolicLink(a).equals(Files.readSymbolicLink(b));
        }
        if (!Files.isRegularFile(a) || !Files.isRegularFile(b)) {
            return false;
        }
        return Files.isSameFile(a, b) || Files.mismatch(a, b) == -1L;
    }

    private static void writeSynced(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    private static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // not every file system lets a directory be opened for sync; the renames are still atomic
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
