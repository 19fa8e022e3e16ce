package dev.icedit.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * A model's tokenizer, as transformers' {@code AutoTokenizer} would build it for the directory: tokenizer.json
 * through the Hugging Face tokenizers library, run with the pipeline of the class transformers picks
 * ({@link TokenizerBackend}), special tokens as tokenizer_config.json and generation_config.json say.
 *
 * <p>Three kinds of text:
 * <ul>
 *   <li>a <b>prompt</b> ({@link #encodePrompt}): what the model reads and continues. Plain text with the special
 *       tokens transformers adds (BOS where the tokenizer adds one), or, when the model was loaded with its chat
 *       template, one user turn followed by the generation prompt;
 *   <li>a <b>continuation</b> of a prompt ({@link #continuation}, {@link #answer}): prompt and continuation are
 *       encoded as one string and the continuation's tokens are those after the prompt's, as the reference
 *       implementations do ({@code tok(prompt + " " + answer)} cut at {@code len(tok(prompt))});
 *   <li>a text alone ({@link #encodeText}): no special tokens, no prompt before it.
 * </ul>
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    private final Long bos;
    private final List<Long> eos;
    private final Long pad;
    private final ChatTemplate chat;
    private final int contextLength;
    private final String transformersClass;

    /**
     * The tokens of a continuation after a prompt. {@code prompt} is {@link #encodePrompt}'s encoding of the
     * prompt; {@code tokens} the continuation's, from the joint encoding; {@code merged} tells that the joint
     * encoding did not split cleanly at the prompt's end (a token spans the boundary), in which case the tokens
     * are still those after the prompt's length, as the reference takes them.
     */
    public record Continuation(long[] prompt, long[] tokens, boolean merged) {
        /** prompt followed by tokens: the sequence the model is scored on. */
        public long[] sequence() {
            long[] out = Arrays.copyOf(prompt, prompt.length + tokens.length);
            System.arraycopy(tokens, 0, out, prompt.length, tokens.length);
            return out;
        }
    }

    private Tokenizer(HuggingFaceTokenizer hf, Long bos, List<Long> eos, Long pad, ChatTemplate chat,
            int contextLength, String transformersClass) {
        this.hf = hf;
        this.bos = bos;
        this.eos = List.copyOf(eos);
        this.pad = pad;
        this.chat = chat;
        this.contextLength = contextLength;
        this.transformersClass = transformersClass;
    }

    /** Loads the directory's tokenizer; with {@code chatTemplate} every prompt is wrapped as a user turn. */
    public static Tokenizer load(Path dir, ModelConfig config, boolean chatTemplate) {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw IceditException.inFile(file, "file not found (only tokenizer.json tokenizers are supported)");
        }
        ConfigJson tc = ConfigJson.readOptional(dir.resolve("tokenizer_config.json"));
        ConfigJson gc = ConfigJson.readOptional(dir.resolve("generation_config.json"));
        ConfigJson raw = ConfigJson.read(file);
        if (!(raw.root instanceof ObjectNode json)) {
            throw IceditException.inFile(file, "not a JSON object");
        }
        TokenizerBackend.Resolved backend = TokenizerBackend.resolve(json, tc, config.modelType());
        if (!backend.reproduced()) {
            LoggerFactory.getLogger(Tokenizer.class).warn("{}: transformers builds a {} for this directory, which"
                    + " rebuilds parts of tokenizer.json that icedit runs as written; token ids may differ",
                    file, backend.transformersClass());
        }
        long largest = largestId(json);
        if (largest >= config.vocabSize()) {
            // transformers loads such pairs too (models whose extra tokens are never produced); the forward pass
            // refuses an id past the embeddings when one turns up
            LoggerFactory.getLogger(Tokenizer.class).warn("{}: the tokenizer has ids up to {} but config.json's"
                    + " vocab_size is {}: text that encodes to one of the extra tokens cannot be run", file, largest,
                    config.vocabSize());
        }
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "true");
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        HuggingFaceTokenizer hf;
        try {
            byte[] bytes = ConfigJson.JSON.writeValueAsBytes(backend.json());
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (IOException | RuntimeException e) {
            throw IceditException.inFile(file, "cannot load tokenizer: " + e.getMessage());
        }
        Long bos = first(gc, "bos_token_id", config.bosTokenIds(), tokenId(json, tc, "bos_token"));
        Long pad = first(gc, "pad_token_id", config.padTokenIds(), tokenId(json, tc, "pad_token"));
        List<Long> eos = gc.tokenIds("eos_token_id");
        if (eos.isEmpty()) {
            eos = config.eosTokenIds();
        }
        if (eos.isEmpty()) {
            Long e = tokenId(json, tc, "eos_token");
            eos = e == null ? List.of() : List.of(e);
        }
        // these go into sequences the model embeds: an id past its vocabulary would fail inside the engine
        try {
            checkInVocabulary(dir, config, gc, "bos_token_id", config.bosTokenIds(), bos);
            for (Long e : eos) {
                checkInVocabulary(dir, config, gc, "eos_token_id", config.eosTokenIds(), e);
            }
            checkInVocabulary(dir, config, gc, "pad_token_id", config.padTokenIds(), pad);
        } catch (RuntimeException e) {
            hf.close();
            throw e;
        }
        ChatTemplate chat = null;
        if (chatTemplate) {
            chat = ChatTemplate.load(dir, tc);
            if (chat == null) {
                hf.close();
                throw IceditException.inFile(dir.resolve("tokenizer_config.json"), "no chat_template (nor"
                        + " chat_template.jinja beside it): this model has no chat template for --chat-template");
            }
            try {
                chat.render("Hello");
            } catch (RuntimeException e) {
                hf.close();
                throw e;
            }
        }
        return new Tokenizer(hf, bos, new ArrayList<>(new LinkedHashSet<>(eos)), pad, chat, config.maxPositions(),
                backend.transformersClass());
    }

    /** The largest id tokenizer.json assigns: in its model's vocabulary or among its added tokens. */
    static long largestId(ObjectNode json) {
        long largest = -1;
        com.fasterxml.jackson.databind.JsonNode vocab = json.path("model").path("vocab");
        if (vocab.isObject()) {
            for (com.fasterxml.jackson.databind.JsonNode id : vocab) {
                largest = Math.max(largest, id.asLong(-1));
            }
        } else if (vocab.isArray()) { // Unigram: [piece, score] pairs, the id is the position
            largest = vocab.size() - 1;
        }
        for (com.fasterxml.jackson.databind.JsonNode t : json.path("added_tokens")) {
            largest = Math.max(largest, t.path("id").asLong(-1));
        }
        return largest;
    }

    private static Long first(ConfigJson gen, String key, List<Long> fromConfig, Long fromTokenizer) {
        List<Long> ids = gen.tokenIds(key);
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

    private static Long tokenId(ObjectNode json, ConfigJson tc, String key) {
        String content = TokenizerBackend.tokenContent(tc, key);
        return content == null ? null : idOf(json, content);
    }

    /** The id of a token of tokenizer.json (an added token, else a vocabulary entry), or null. */
    static Long idOf(ObjectNode json, String token) {
        for (JsonNode added : json.path("added_tokens")) {
            if (token.equals(added.path("content").asText(null))) {
                return added.path("id").asLong();
            }
        }
        JsonNode vocab = json.path("model").path("vocab");
        if (vocab.isObject() && vocab.has(token)) {
            return vocab.get(token).asLong();
        }
        return null;
    }

    /** Token ids of a text with the special tokens transformers adds, as {@code tokenizer(text)} gives them. */
    public long[] encode(String text) {
        return hf.encode(text, true, false).getIds();
    }

    /** Token ids of a text alone, without special tokens ({@code add_special_tokens=False}). */
    public long[] encodeText(String text) {
        return hf.encode(text, false, false).getIds();
    }

    /** Whether prompts are wrapped in the model's chat template. */
    public boolean chatTemplate() {
        return chat != null;
    }

    /** The text the model reads for a prompt: the prompt itself, or its chat-template wrapping. */
    public String promptText(String prompt) {
        return chat == null ? prompt : chat.render(prompt);
    }

    /** The token ids the model reads for a prompt (see the class comment). */
    public long[] encodePrompt(String prompt) {
        if (chat == null) {
            return encode(prompt);
        }
        long[] ids = encodeText(chat.render(prompt));
        if (ids.length > contextLength) {
            throw new IceditException("the prompt is " + ids.length + " tokens once the chat template wraps it,"
                    + " more than the model's " + contextLength + "-token context: '" + abbreviate(prompt) + "'");
        }
        return ids;
    }

    /**
     * The one definition of the tokens of a continuation after a prompt: the prompt and {@code continuation}
     * (joined as given) encoded as one string, cut after the prompt's own token count.
     */
    public Continuation continuation(String prompt, String continuation) {
        long[] p = encodePrompt(prompt);
        long[] joint = chat == null ? encode(prompt + continuation) : encodeText(chat.render(prompt) + continuation);
        boolean merged = joint.length < p.length || !Arrays.equals(p, Arrays.copyOf(joint, p.length));
        long[] tokens = joint.length <= p.length ? new long[0] : Arrays.copyOfRange(joint, p.length, joint.length);
        return new Continuation(p, tokens, merged);
    }

    /**
     * An answer after a prompt, joined as the reference implementations join them: with one space after a plain
     * prompt ({@code prompt + " " + answer}); directly after a chat template's generation prompt, which ends the
     * turn header, since the answer is then the assistant's text.
     */
    public Continuation answer(String prompt, String answer) {
        return continuation(prompt, answerText(answer));
    }

    /** The answer's text as {@link #answer} joins it to a prompt. */
    public String answerText(String answer) {
        return chat == null ? " " + answer : answer;
    }

    /**
     * The span of {@code text} that each token of {@link #encode(String)} covers, as {start, end} char indices
     * (end exclusive), or null for special tokens (BOS). Spans of adjacent tokens may overlap (a byte-level token
     * holding part of a character).
     */
    public int[][] tokenSpans(String text) {
        return spans(hf.encode(text, true, false), text);
    }

    /**
     * As {@link #tokenSpans}, for the tokens of {@link #encodePrompt}: spans index into {@code prompt}, and the
     * template's own tokens have null spans.
     */
    public int[][] promptTokenSpans(String prompt) {
        if (chat == null) {
            return tokenSpans(prompt);
        }
        String rendered = chat.render(prompt);
        String content = prompt.strip();
        int at = rendered.lastIndexOf(content);
        if (at < 0 || content.isEmpty()) {
            throw new IceditException("the chat template does not keep the prompt's text, so its tokens cannot be"
                    + " mapped back to it: '" + abbreviate(prompt) + "'");
        }
        int shift = at - prompt.indexOf(content);
        int[][] out = spans(hf.encode(rendered, false, false), rendered);
        for (int i = 0; i < out.length; i++) {
            if (out[i] != null) {
                int s = out[i][0] - shift;
                int e = out[i][1] - shift;
                out[i] = s >= 0 && e <= prompt.length() && s < e ? new int[] {s, e} : null;
            }
        }
        return out;
    }

    private static int[][] spans(Encoding e, String text) {
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
        return out;
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

    /** The first EOS id (generation_config.json's first, else config.json's, else the tokenizer's eos_token). */
    public Long eosTokenId() {
        return eos.isEmpty() ? null : eos.get(0);
    }

    /** Every id that ends a generation: Llama-3 and Qwen list several in generation_config.json. */
    public List<Long> eosTokenIds() {
        return eos;
    }

    public boolean isEos(long id) {
        return eos.contains(id);
    }

    /** The class transformers' AutoTokenizer builds for this directory, whose pipeline this tokenizer runs. */
    public String transformersClass() {
        return transformersClass;
    }

    /** The id used for left padding: the pad token, else EOS, else 0 (padded positions are masked anyway). */
    public long padTokenId() {
        return pad != null ? pad : !eos.isEmpty() ? eos.get(0) : 0L;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    @Override
    public void close() {
        hf.close();
    }
}
