package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Saves a model as a Hugging Face directory with the tensor names, dtypes and shard layout it was loaded with.
 * Tensors that were not changed are copied byte for byte from the source files; changed ones are converted to
 * their disk dtype. The other files of the source directory (config, tokenizer, ...) are copied as they are.
 *
 * <p>The write is atomic: everything goes to a temporary sibling directory, is flushed, and then replaces the
 * target by rename. If the process dies before the final rename, the target still holds the old model; if it dies
 * between the two renames, the old model is intact in {@code TARGET.icedit-old-*} and the new one is complete.
 */
final class ModelWriter {
    private ModelWriter() {}

    static void write(LanguageModel model, Weights w, Path target) throws IOException {
        Path dest = target.toAbsolutePath().normalize();
        Path parent = dest.getParent();
        if (parent == null) {
            throw IceditException.inFile(dest, "cannot save to the file system root");
        }
        if (Files.exists(dest) && !Files.isDirectory(dest)) {
            throw IceditException.inFile(dest, "exists and is not a directory");
        }
        if (Files.isDirectory(dest) && !Files.exists(dest.resolve("config.json")) && !isEmpty(dest)) {
            throw IceditException.inFile(dest, "is a non-empty directory that is not a model; refusing to replace it");
        }
        Files.createDirectories(parent);
        Path tmp = parent.resolve(dest.getFileName() + ".icedit-tmp-" + UUID.randomUUID());
        Files.createDirectory(tmp);
        try {
            writeInto(model, w, tmp);
            fsyncDirectory(tmp);
            replace(tmp, dest);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static void writeInto(LanguageModel model, Weights w, Path out) throws IOException {
        WeightFiles files = model.files();
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
                            () -> diskBytes(value, e.dtype())));
                } else {
                    tensors.add(new SafetensorsWriter.Tensor(e.name(), e.dtype(), e.shape(), () -> source.map(e)));
                }
            }
            SafetensorsWriter.write(out.resolve(shard.getKey()), tensors, source.metadata());
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
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(sourceDir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!Files.isRegularFile(p) || files.files.containsKey(name) || name.equals(WeightFiles.INDEX)) {
                    continue;
                }
                Files.copy(p, out.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
                fsync(out.resolve(name));
            }
        }
    }

    /** A changed tensor's bytes in its disk dtype (round to nearest even for BF16 and F16, as PyTorch does). */
    private static ByteBuffer diskBytes(NDArray value, DType dtype) {
        if (dtype == DType.BF16) {
            return dev.icedit.tensor.BFloat16.fromFloat32(diskBytes(value, DType.F32));
        }
        try (NDArray converted = value.toType(dtype.djl(), true)) {
            NDArray cpu = converted.getDevice().equals(ai.djl.Device.cpu()) ? converted
                    : converted.toDevice(ai.djl.Device.cpu(), true);
            ByteBuffer b = cpu.toByteBuffer();
            if (cpu != converted) {
                cpu.close();
            }
            return b;
        }
    }

    private static void replace(Path tmp, Path dest) throws IOException {
        if (!Files.exists(dest)) {
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(dest.getParent());
            return;
        }
        Path old = dest.resolveSibling(dest.getFileName() + ".icedit-old-" + UUID.randomUUID());
        Files.move(dest, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(dest.getParent());
        deleteTree(old);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
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
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
