package dev.icedit.tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Writes safetensors files: header padded with spaces to 8 bytes, tensors in the order given. */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor to write; {@code bytes} is asked for once, when its turn comes, and must hold exactly its data. */
    public record Tensor(String name, DType dtype, long[] shape, Supplier<ByteBuffer> bytes) {
        long byteSize() {
            long n = dtype.bytes();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private SafetensorsWriter() {}

    /** Writes the file and forces it to disk. */
    public static void write(Path file, List<Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype().name());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            ArrayNode offs = e.putArray("data_offsets");
            offs.add(offset);
            offset += t.byteSize();
            offs.add(offset);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded);
        head.put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, head);
            for (Tensor t : tensors) {
                ByteBuffer data = t.bytes().get().duplicate();
                if (data.remaining() != t.byteSize()) {
                    throw new IllegalStateException("tensor " + t.name() + ": " + data.remaining()
                            + " bytes supplied, " + t.byteSize() + " expected");
                }
                writeFully(ch, data);
            }
            ch.force(true);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
