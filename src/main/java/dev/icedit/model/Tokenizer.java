package dev.icedit.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A model's tokenizer: {@code tokenizer.json} through the Hugging Face tokenizers library, with special tokens as
 * the directory's {@code tokenizer_config.json} and {@code generation_config.json} say.
 *
 * <p>{@link #encode(String)} adds special tokens the way transformers does: the post-processor of tokenizer.json
 * adds them (Llama's BOS, for example), and an explicit {@code add_bos_token} in tokenizer_config.json overrides
 * whether a BOS starts the sequence.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    private final Long bos;
    private final Long eos;
    private final Long pad;
    private final Boolean addBos;

    private Tokenizer(HuggingFaceTokenizer hf, Long bos, Long eos, Long pad, Boolean addBos) {
        this.hf = hf;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.addBos = addBos;
    }

    static Tokenizer load(Path dir, ModelConfig config) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw IceditException.inFile(file, "file not found (only tokenizer.json tokenizers are supported)");
        }
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "true");
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(file, options);
        } catch (IOException | RuntimeException e) {
            throw IceditException.inFile(file, "cannot load tokenizer: " + e.getMessage());
        }
        ConfigJson tc = ConfigJson.readOptional(dir.resolve("tokenizer_config.json"));
        ConfigJson gc = ConfigJson.readOptional(dir.resolve("generation_config.json"));
        Long bos = first(gc, "bos_token_id", config.bosTokenIds(), tokenId(hf, tc, "bos_token"));
        Long eos = first(gc, "eos_token_id", config.eosTokenIds(), tokenId(hf, tc, "eos_token"));
        Long pad = first(gc, "pad_token_id", config.padTokenIds(), tokenId(hf, tc, "pad_token"));
        // these go into sequences the model embeds: an id past its vocabulary would fail inside the engine
        checkInVocabulary(dir, config, gc, "bos_token_id", config.bosTokenIds(), bos);
        checkInVocabulary(dir, config, gc, "eos_token_id", config.eosTokenIds(), eos);
        checkInVocabulary(dir, config, gc, "pad_token_id", config.padTokenIds(), pad);
        Boolean addBos = tc.has("add_bos_token") ? tc.boolOr("add_bos_token", false) : null;
        return new Tokenizer(hf, bos, eos, pad, addBos);
    }

    private static Long first(ConfigJson gen, String key, java.util.List<Long> fromConfig, Long fromTokenizer) {
        java.util.List<Long> ids = gen.tokenIds(key);
        if (!ids.isEmpty()) {
            return ids.get(0);
        }
        if (!fromConfig.isEmpty()) {
            return fromConfig.get(0);
        }
        return fromTokenizer;
    }

    private static void checkInVocabulary(Path dir, ModelConfig config, ConfigJson gen, String key,
            java.util.List<Long> fromConfig, Long id) {
        if (id != null && id >= config.vocabSize()) {
            String from = !gen.tokenIds(key).isEmpty() ? "generation_config.json"
                    : !fromConfig.isEmpty() ? "config.json" : "tokenizer_config.json";
            throw IceditException.inFile(dir.resolve(from), key + " " + id + " is outside the model's vocabulary of "
                    + config.vocabSize() + " tokens");
        }
    }

    /** The id of a special token named in tokenizer_config.json (a string or {"content": ...}). */
    private static Long tokenId(HuggingFaceTokenizer hf, ConfigJson tc, String key) {
        JsonNode n = tc.node(key);
        if (n == null || n.isNull()) {
            return null;
        }
        String content = n.isObject() ? n.path("content").asText(null) : n.asText();
        if (content == null) {
            return null;
        }
        long[] ids = hf.encode(content, false, false).getIds();
        return ids.length == 1 ? ids[0] : null;
    }

    /** Token ids with special tokens, as transformers' tokenizer(text) gives them. */
    public long[] encode(String text) {
        long[] ids = hf.encode(text, true, false).getIds();
        if (addBos != null && bos != null) {
            boolean starts = ids.length > 0 && ids[0] == bos;
            boolean plainStarts = starts && startsWithBosWithoutSpecials(text);
            if (addBos && !starts) {
                long[] withBos = new long[ids.length + 1];
                withBos[0] = bos;
                System.arraycopy(ids, 0, withBos, 1, ids.length);
                return withBos;
            }
            if (!addBos && starts && !plainStarts) {
                return Arrays.copyOfRange(ids, 1, ids.length);
            }
        }
        return ids;
    }

    private boolean startsWithBosWithoutSpecials(String text) {
        long[] plain = hf.encode(text, false, false).getIds();
        return plain.length > 0 && plain[0] == bos;
    }

    /**
     * The span of {@code text} that each token of {@link #encode(String)} covers, as {start, end} char indices
     * (end exclusive), or null for special tokens (BOS). Spans of adjacent tokens may overlap (a byte-level token
     * holding part of a character).
     */
    public int[][] tokenSpans(String text) {
        ai.djl.huggingface.tokenizers.Encoding e = hf.encode(text, true, false);
        long[] raw = e.getIds();
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
        long[] special = e.getSpecialTokenMask();
        int[][] out = new int[raw.length][];
        for (int i = 0; i < raw.length; i++) {
            if (spans[i] != null && special[i] == 0) {
                // the tokenizers library counts Unicode code points; Java strings count UTF-16 units
                out[i] = new int[] {text.offsetByCodePoints(0, spans[i].getStart()),
                    text.offsetByCodePoints(0, spans[i].getEnd())};
            }
        }
        long[] ids = encode(text);
        if (ids.length == raw.length + 1) {
            int[][] withBos = new int[ids.length][];
            System.arraycopy(out, 0, withBos, 1, out.length);
            return withBos;
        }
        if (ids.length == raw.length - 1) {
            return Arrays.copyOfRange(out, 1, out.length);
        }
        return out;
    }

    /** Token ids without special tokens: for a continuation joined to a prompt. */
    public long[] encodePlain(String text) {
        return hf.encode(text, false, false).getIds();
    }

    public String decode(long[] ids) {
        return hf.decode(ids, true);
    }

    public String decodeWithSpecials(long[] ids) {
        return hf.decode(ids, false);
    }

    /** The token's text as in the vocabulary (byte-level symbols included). */
    public String tokenText(long id) {
        return hf.decode(new long[] {id}, false);
    }

    public Long bosTokenId() {
        return bos;
    }

    public Long eosTokenId() {
        return eos;
    }

    /** The id used for left padding: the pad token, else EOS, else 0 (padded positions are masked anyway). */
    public long padTokenId() {
        return pad != null ? pad : eos != null ? eos : 0L;
    }

    @Override
    public void close() {
        hf.close();
    }
}
