package dev.icedit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A golden directory written by tools/golden/make_golden.py: golden.json plus golden.safetensors. */
public final class Golden implements AutoCloseable {
    public static final Path ROOT = Path.of("src/test/resources/golden");

    public final Path dir;
    public final JsonNode json;
    private final SafetensorsFile tensors;

    private Golden(Path dir) throws IOException {
        this.dir = dir;
        this.json = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
        this.tensors = SafetensorsFile.open(dir.resolve("golden.safetensors"));
    }

    public static Golden of(String name) throws IOException {
        return new Golden(ROOT.resolve(name));
    }

    public float[] tensor(String key) {
        SafetensorsFile.Entry e = tensors.entry(key);
        if (e == null) {
            throw new IllegalArgumentException("golden tensor " + key + " missing in " + dir);
        }
        FloatBuffer fb = tensors.map(e).asFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }

    public long[] shape(String key) {
        return tensors.entry(key).shape();
    }

    public static long[] ids(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    public static List<long[]> rows(JsonNode matrix) {
        List<long[]> out = new ArrayList<>();
        matrix.forEach(r -> out.add(ids(r)));
        return out;
    }

    /** ||a - b|| / ||b||. */
    public static double relativeError(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    @Override
    public void close() {
        tensors.close();
    }
}
