package dev.icedit.tensor;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading: the header is parsed and checked up front, and each tensor's bytes are
 * read through a memory map of just that tensor, at a 64-bit file offset, so files of any size open (DJL's own
 * decoder reads a whole file into one array with int offsets).
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of JSON header, then the data block. Each header
 * entry is {@code {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}} with offsets relative to the data
 * block; an optional {@code __metadata__} entry maps strings to strings.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers larger than this are refused, as the reference implementation does. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /**
     * As strict as the reference reader (serde_json): nothing may follow the header object but the spaces it is
     * padded with, and a tensor name may appear once.
     */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** One tensor's header entry; offsets are relative to the start of the data block. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long byteSize() {
            return end - begin;
        }

        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and validates a file; every problem is reported as one line naming the file. */
    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw IceditException.inFile(path, "file not found");
        } catch (IOException e) {
            throw IceditException.inFile(path, "cannot open: " + e.getMessage());
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) {
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw IceditException.inFile(path, "truncated safetensors file: " + fileSize
                        + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
                throw IceditException.inFile(path, "safetensors header length " + Long.toUnsignedString(headerLen)
                        + " is larger than the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (8 + headerLen > fileSize) {
                throw IceditException.inFile(path, "truncated safetensors header: it claims " + headerLen
                        + " bytes but the file has only " + (fileSize - 8) + " after the length");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            String headerText;
            try {
                headerText = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw IceditException.inFile(path, "safetensors header is not valid UTF-8");
            }
            JsonNode header;
            try {
                header = JSON.readTree(headerText);
            } catch (JsonProcessingException e) {
                throw IceditException.inFile(path, "safetensors header is not valid JSON: "
                        + e.getOriginalMessage());
            }
            if (header == null || !header.isObject()) {
                throw IceditException.inFile(path, "safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) {
                    if (!f.getValue().isObject()) {
                        throw IceditException.inFile(path, "__metadata__ is not an object");
                    }
                    f.getValue().fields().forEachRemaining(m -> {
                        if (!m.getValue().isTextual()) {
                            throw IceditException.inFile(path, "__metadata__ value of '" + m.getKey()
                                    + "' is not a string");
                        }
                        metadata.put(m.getKey(), m.getValue().asText());
                    });
                    continue;
                }
                entries.put(f.getKey(), parseEntry(path, f.getKey(), f.getValue(), dataSize));
            }
            checkOverlaps(path, entries.values());
            return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(entries),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw IceditException.inFile(path, "cannot read: " + e.getMessage());
        }
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataSize) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw IceditException.inFile(path, where + ": header entry is not an object");
        }
        JsonNode dt = node.get("dtype");
        JsonNode sh = node.get("shape");
        JsonNode off = node.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            throw IceditException.inFile(path, where + ": header entry needs dtype, shape and data_offsets");
        }
        DType dtype = dt.isTextual() ? DType.fromHeader(dt.asText()) : null;
        if (dtype == null) {
            throw IceditException.inFile(path, where + ": unsupported dtype '" + dt.asText() + "'");
        }
        if (!sh.isArray()) {
            throw IceditException.inFile(path, where + ": shape is not a list");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!isCount(sh.get(i))) {
                throw IceditException.inFile(path, where + ": bad shape " + sh
                        + " (each dimension must be a non-negative integer)");
            }
            shape[i] = sh.get(i).asLong();
        }
        if (!off.isArray() || off.size() != 2 || !isCount(off.get(0)) || !isCount(off.get(1))) {
            throw IceditException.inFile(path, where + ": data_offsets must be [begin, end], two non-negative"
                    + " integers");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw IceditException.inFile(path, where + ": bad data_offsets [" + begin + ", " + end + "]");
        }
        if (end > dataSize) {
            throw IceditException.inFile(path, where + ": data_offsets [" + begin + ", " + end
                    + "] run past the end of the data (" + dataSize + " bytes); the file may be truncated");
        }
        long expected = byteCount(shape, dtype);
        if (expected < 0) {
            throw IceditException.inFile(path, where + ": shape " + java.util.Arrays.toString(shape)
                    + " has more elements than a 64-bit count holds");
        }
        if (end - begin != expected) {
            throw IceditException.inFile(path, where + ": dtype " + dtype + " and shape " + java.util.Arrays.toString(shape)
                    + " need " + expected + " bytes but data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** A non-negative integer that fits a long: 512.5, 1e3, -1 and "512" are not. */
    private static boolean isCount(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong() && n.asLong() >= 0;
    }

    /** Bytes a tensor of this shape and dtype holds, or -1 when that overflows a long. */
    private static long byteCount(long[] shape, DType dtype) {
        if (java.util.Arrays.stream(shape).anyMatch(d -> d == 0)) {
            return 0;
        }
        long n = dtype.bytes();
        for (long d : shape) {
            if (n > Long.MAX_VALUE / d) {
                return -1;
            }
            n *= d;
        }
        return n;
    }

    private static void checkOverlaps(Path path, java.util.Collection<Entry> all) {
        List<Entry> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry prev = null;
        for (Entry e : sorted) {
            if (e.byteSize() == 0) {
                continue;
            }
            if (prev != null && e.begin() < prev.end()) {
                throw IceditException.inFile(path, "tensors '" + prev.name() + "' and '" + e.name()
                        + "' have overlapping data_offsets");
            }
            prev = e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    public Path path() {
        return path;
    }

    /** Entries in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) {
        return entries.get(name);
    }

    /**
     * Maps one tensor's bytes read-only, little-endian. The mapping lives as long as the buffer is reachable; a
     * tensor that aliases it (DJL's {@code create} on a direct buffer does not copy on the CPU) keeps it alive.
     */
    public ByteBuffer map(Entry e) {
        if (e.byteSize() > Integer.MAX_VALUE) {
            throw IceditException.inFile(path, "tensor '" + e.name() + "' is " + e.byteSize()
                    + " bytes; tensors over 2 GiB are not supported");
        }
        try {
            MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.byteSize());
            return buf.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw IceditException.inFile(path, "cannot map tensor '" + e.name() + "': " + ex.getMessage());
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing a read-only channel; nothing to recover
        }
    }
}
