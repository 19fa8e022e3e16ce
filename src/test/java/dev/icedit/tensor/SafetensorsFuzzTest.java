package dev.icedit.tensor;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.icedit.testing.FuzzProperty;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link SafetensorsFile#open}: any bytes as a .safetensors file open, with every tensor mappable at the
 * size its dtype and shape imply, or are refused in one line naming the file. Seeds (files the reference writer
 * made, and the malformed headers of issue 12) are in src/test/resources/dev/icedit/tensor/SafetensorsFuzzTestInputs.
 */
class SafetensorsFuzzTest {
    @TempDir static Path dir;

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"format\"", "\"pt\"",
        "\"F64\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"", "\"U8\"", "\"BOOL\"",
        "\"F8_E4M3\"", "9223372036854775807", "4294967296", "-1", "1e3", "0.5"})
    void safetensorsFile(byte[] input) throws Exception {
        Path file = dir.resolve("model.safetensors");
        Files.write(file, input);
        FuzzProperty.acceptedOrRefusedInOneLine(file, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (SafetensorsFile.Entry e : f.entries().values()) {
                    long bytes = e.elementCount() * e.dtype().bytes();
                    if (e.byteSize() != bytes || e.begin() < 0 || e.end() > input.length) {
                        throw new AssertionError("entry " + e.name() + " spans " + e.byteSize() + " bytes, its shape"
                                + " needs " + bytes);
                    }
                    ByteBuffer b = f.map(e);
                    if (b.remaining() != e.byteSize()) {
                        throw new AssertionError("mapped " + b.remaining() + " bytes of " + e.name());
                    }
                }
                f.metadata().forEach((k, v) -> {
                    if (k == null || v == null) {
                        throw new AssertionError("null metadata");
                    }
                });
            }
        });
    }
}
