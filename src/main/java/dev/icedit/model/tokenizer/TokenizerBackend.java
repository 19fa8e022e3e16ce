package dev.icedit.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.config.ConfigJson;
import java.util.Map;
import java.util.Set;

/**
 * The tokenizer pipeline transformers 5 (5.17, 5.18) actually runs for a model directory, as a tokenizer.json.
 *
 * <p>{@code AutoTokenizer} picks a class from tokenizer_config.json's {@code tokenizer_class} and config.json's
 * {@code model_type}. The generic class ({@code TokenizersBackend}, alias {@code PreTrainedTokenizerFast}) runs
 * tokenizer.json as it is; a model-specific class rebuilds the normalizer, pre-tokenizer, decoder and model flags
 * itself and keeps only the vocabulary, the merges and the post-processor of tokenizer.json. That matters:
 * Mistral-7B's tokenizer.json prepends "▁" in its normalizer, so " Paris" alone is ["▁", "▁Paris"], while the
 * {@code LlamaTokenizer} that transformers builds for it in a llama directory uses a Metaspace pre-tokenizer and
 * gives ["▁Paris"]. Then, when tokenizer_config.json sets {@code add_bos_token} or {@code add_eos_token}, the
 * post-processor is replaced by a template adding exactly those.
 */
final class TokenizerBackend {
    /** The classes transformers registers for the model types icedit runs (tokenization_auto.py). */
    private static final String GENERIC = "TokenizersBackend";
    private static final Map<String, String> REGISTERED = Map.of("llama", "LlamaTokenizer", "qwen2", "Qwen2Tokenizer",
            "qwen3", "Qwen2Tokenizer", "gpt2", "GPT2Tokenizer", "mistral", GENERIC, "mixtral", GENERIC);
    /** Model types whose hub tokenizer_class transformers ignores in favour of the registered class. */
    private static final Set<String> HUB_CLASS_DISTRUSTED = Set.of("qwen2", "phi3", "qwen3_5");
    private static final Set<String> REBUILT = Set.of("LlamaTokenizer", "Qwen2Tokenizer", "GPT2Tokenizer");
    static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** The class transformers builds, and the tokenizer.json that behaves like it. */
    record Resolved(String transformersClass, ObjectNode json, boolean reproduced) {}

    private TokenizerBackend() {}

    /** The class AutoTokenizer.from_pretrained builds for this directory. */
    static String transformersClass(String modelType, String hubClass) {
        String hub = hubClass == null ? null : hubClass.replaceFirst("Fast$", "");
        if ("PreTrainedTokenizer".equals(hub)) {
            hub = GENERIC;
        }
        String registered = modelType == null ? null : REGISTERED.get(modelType);
        if (hub == null) {
            return registered != null ? registered : GENERIC;
        }
        if (registered != null && !registered.equals(hub)) {
            if (registered.equals(GENERIC)) {
                return GENERIC;
            }
            return HUB_CLASS_DISTRUSTED.contains(modelType) ? registered : hub;
        }
        return hub;
    }

    static Resolved resolve(ObjectNode tokenizerJson, ConfigJson tokenizerConfig, String modelType) {
        String cls = transformersClass(modelType, tokenizerConfig.has("tokenizer_class")
                ? tokenizerConfig.node("tokenizer_class").asText() : null);
        ObjectNode json = tokenizerJson.deepCopy();
        boolean reproduced = cls.equals(GENERIC) || REBUILT.contains(cls);
        switch (cls) {
            case "LlamaTokenizer" -> llama(json, tokenizerConfig);
            case "Qwen2Tokenizer" -> qwen2(json, tokenizerConfig);
            case "GPT2Tokenizer" -> gpt2(json, tokenizerConfig);
            default -> { }
        }
        boolean explicitSpecials = tokenizerConfig.has("add_bos_token") || tokenizerConfig.has("add_eos_token");
        JsonNode post = json.get("post_processor");
        if (explicitSpecials || post == null || post.isNull()) {
            json.set("post_processor", template(json, tokenizerConfig));
        }
        return new Resolved(cls, json, reproduced);
    }

    /** LlamaTokenizer: no normalizer, Metaspace("▁", split=False), byte fallback. */
    private static void llama(ObjectNode json, ConfigJson tc) {
        boolean prefixSpace = !tc.has("add_prefix_space") || tc.boolOr("add_prefix_space", true);
        boolean legacy = tc.boolOr("legacy", false);
        json.putNull("normalizer");
        ObjectNode pre = json.objectNode().put("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", prefixSpace ? (legacy ? "always" : "first") : "never").put("split", false);
        json.set("pre_tokenizer", pre);
        ArrayNode decoders = json.arrayNode();
        decoders.add(json.objectNode().put("type", "Replace").<ObjectNode>set("pattern",
                json.objectNode().put("String", "\u2581")).put("content", " "));
        decoders.add(json.objectNode().put("type", "ByteFallback"));
        decoders.add(json.objectNode().put("type", "Fuse"));
        if (prefixSpace) {
            decoders.add(json.objectNode().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0));
        }
        json.set("decoder", json.objectNode().put("type", "Sequence").set("decoders", decoders));
        ObjectNode model = (ObjectNode) json.get("model");
        model.put("fuse_unk", true).put("byte_fallback", true).putNull("dropout");
    }

    /** Qwen2Tokenizer: NFC, the Qwen2 split regex, byte-level without its own regex. */
    private static void qwen2(ObjectNode json, ConfigJson tc) {
        json.set("normalizer", json.objectNode().put("type", "NFC"));
        ArrayNode pres = json.arrayNode();
        pres.add(json.objectNode().put("type", "Split").<ObjectNode>set("pattern",
                json.objectNode().put("Regex", QWEN2_SPLIT)).put("behavior", "Isolated").put("invert", false));
        pres.add(byteLevel(json, tc.boolOr("add_prefix_space", false), false));
        json.set("pre_tokenizer", json.objectNode().put("type", "Sequence").set("pretokenizers", pres));
        json.set("decoder", byteLevel(json, true, true));
        bpeWithoutAffixes(json).putNull("unk_token").put("byte_fallback", false);
    }

    /** GPT2Tokenizer: byte-level with the GPT-2 regex. */
    private static void gpt2(ObjectNode json, ConfigJson tc) {
        json.putNull("normalizer");
        json.set("pre_tokenizer", byteLevel(json, tc.boolOr("add_prefix_space", false), true));
        json.set("decoder", byteLevel(json, true, true));
        bpeWithoutAffixes(json);
    }

    private static ObjectNode bpeWithoutAffixes(ObjectNode json) {
        return ((ObjectNode) json.get("model")).put("continuing_subword_prefix", "").put("end_of_word_suffix", "")
                .put("fuse_unk", false).putNull("dropout");
    }

    private static ObjectNode byteLevel(ObjectNode json, boolean addPrefixSpace, boolean useRegex) {
        return json.objectNode().put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace)
                .put("trim_offsets", true).put("use_regex", useRegex);
    }

    /** transformers' update_post_processor: BOS and EOS exactly as add_bos_token / add_eos_token say. */
    private static ObjectNode template(ObjectNode json, ConfigJson tc) {
        String bos = tokenContent(tc, "bos_token");
        String eos = tokenContent(tc, "eos_token");
        Long bosId = bos == null ? null : Tokenizer.idOf(json, bos);
        Long eosId = eos == null ? null : Tokenizer.idOf(json, eos);
        boolean addBos = tc.boolOr("add_bos_token", false) && bosId != null;
        boolean addEos = tc.boolOr("add_eos_token", false) && eosId != null;
        ArrayNode single = json.arrayNode();
        ArrayNode pair = json.arrayNode();
        ObjectNode specials = json.objectNode();
        for (int typeId = 0; typeId < 2; typeId++) {
            ArrayNode seq = typeId == 0 ? single : pair;
            if (typeId == 1) {
                seq.addAll(single);
            }
            if (addBos) {
                seq.add(special(json, bos, typeId));
            }
            seq.add(json.objectNode().set("Sequence", json.objectNode().put("id", typeId == 0 ? "A" : "B")
                    .put("type_id", typeId)));
            if (addEos) {
                seq.add(special(json, eos, typeId));
            }
        }
        if (addBos) {
            specials.set(bos, specialEntry(json, bos, bosId));
        }
        if (addEos) {
            specials.set(eos, specialEntry(json, eos, eosId));
        }
        ObjectNode t = json.objectNode().put("type", "TemplateProcessing");
        t.set("single", single);
        t.set("pair", pair);
        t.set("special_tokens", specials);
        return t;
    }

    private static ObjectNode special(ObjectNode json, String token, int typeId) {
        return json.objectNode().set("SpecialToken", json.objectNode().put("id", token).put("type_id", typeId));
    }

    private static ObjectNode specialEntry(ObjectNode json, String token, long id) {
        ObjectNode e = json.objectNode().put("id", token);
        e.set("ids", json.arrayNode().add(id));
        e.set("tokens", json.arrayNode().add(token));
        return e;
    }

    /** A special token named in tokenizer_config.json: a string or {"content": ...}. */
    static String tokenContent(ConfigJson tc, String key) {
        JsonNode n = tc.node(key);
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isObject() ? n.path("content").asText(null) : n.asText();
    }
}
