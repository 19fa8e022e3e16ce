package dev.icedit.edit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.tensor.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A patch file taken apart and put back together, for tests that change one thing in it the way a hand edit, a
 * damaged disk or an attacker would: its metadata, a tensor's bytes, a header entry. {@link #bytes(boolean)} can
 * recompute the hashes ("reseal"), to reach the checks that come after them.
 */
final class PatchFiles {
    static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor: its header entry (dtype, shape) and its bytes. */
    static final class Tensor {
        String dtype;
        long[] shape;
        byte[] data;
    }

    /** The {@code __metadata__} strings other than the patch's own two keys. */
    final Map<String, String> otherMetadata = new LinkedHashMap<>();
    /** The patch metadata (the {@code icedit_patch} JSON), or null when the file has none. */
    ObjectNode patch;
    /** The {@code icedit_patch} text as it was, used unless {@link #patch} is resealed. */
    String patchText;
    String integrity;
    final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** Parses a well-formed safetensors file; throws for anything else (callers fall back to the raw bytes). */
    static PatchFiles parse(byte[] file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long len = b.getLong();
        if (len < 0 || len > file.length - 8) {
            throw new IOException("bad header length");
        }
        JsonNode header = JSON.readTree(new String(file, 8, (int) len, StandardCharsets.UTF_8));
        if (header == null || !header.isObject()) {
            throw new IOException("header is not an object");
        }
        PatchFiles p = new PatchFiles();
        int dataStart = 8 + (int) len;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                for (Iterator<Map.Entry<String, JsonNode>> m = e.getValue().fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (kv.getKey().equals(EditPatch.METADATA_KEY)) {
                        p.patchText = kv.getValue().asText();
                        JsonNode parsed = JSON.readTree(p.patchText);
                        p.patch = parsed != null && parsed.isObject() ? (ObjectNode) parsed : null;
                    } else if (kv.getKey().equals(EditPatch.INTEGRITY_KEY)) {
                        p.integrity = kv.getValue().asText();
                    } else {
                        p.otherMetadata.put(kv.getKey(), kv.getValue().asText());
                    }
                }
                continue;
            }
            Tensor t = new Tensor();
            t.dtype = e.getValue().path("dtype").asText();
            JsonNode shape = e.getValue().path("shape");
            t.shape = new long[shape.size()];
            for (int i = 0; i < shape.size(); i++) {
                t.shape[i] = shape.get(i).asLong();
            }
            long begin = e.getValue().path("data_offsets").path(0).asLong();
            long end = e.getValue().path("data_offsets").path(1).asLong();
            if (begin < 0 || end < begin || dataStart + end > file.length) {
                throw new IOException("bad offsets");
            }
            t.data = java.util.Arrays.copyOfRange(file, dataStart + (int) begin, dataStart + (int) end);
            p.tensors.put(e.getKey(), t);
        }
        return p;
    }

    /**
     * The file again; with {@code reseal}, every tensor's hash and the metadata's hash are recomputed as icedit
     * computes them, so that the file passes the integrity checks and meets the ones behind them.
     */
    byte[] bytes(boolean reseal) throws IOException {
        String text = patchText;
        String hash = integrity;
        if (reseal && patch != null) {
            ObjectNode sha = patch.putObject("sha256");
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                DType d = DType.fromHeader(e.getValue().dtype);
                sha.put(e.getKey(), EditPatch.tensorHash(e.getKey(), d == null ? DType.U8 : d, e.getValue().shape,
                        ByteBuffer.wrap(e.getValue().data)));
            }
            text = JSON.writeValueAsString(patch);
            hash = EditPatch.sha256(text.getBytes(StandardCharsets.UTF_8));
        } else if (patch != null && !JSON.readTree(patchText).equals(patch)) {
            text = JSON.writeValueAsString(patch); // edited by hand: the old hash stays
        }
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        otherMetadata.forEach(meta::put);
        if (text != null) {
            meta.put(EditPatch.METADATA_KEY, text);
        }
        if (hash != null) {
            meta.put(EditPatch.INTEGRITY_KEY, hash);
        }
        long offset = 0;
        List<byte[]> data = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype);
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape) {
                shape.add(d);
            }
            ArrayNode offs = t.putArray("data_offsets");
            offs.add(offset);
            offset += e.getValue().data.length;
            offs.add(offset);
            data.add(e.getValue().data);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(json);
        for (int i = json.length; i < padded; i++) {
            out.write(' ');
        }
        for (byte[] d : data) {
            out.write(d);
        }
        return out.toByteArray();
    }
}
