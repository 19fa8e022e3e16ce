package dev.icedit.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.tensor.IceditException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama family ({@code model_type} llama, mistral, qwen2, qwen3) as transformers names its keys. Mistral adds a
 * sliding attention window on every layer; Qwen2 adds biases to the q, k and v projections and, with
 * {@code use_sliding_window}, a window on the layers {@code layer_types} names (by default those from
 * {@code max_window_layers} on); Qwen3 normalises each head of q and k (RMSNorm over head_dim) before RoPE and has
 * biases only with {@code attention_bias}. RoPE settings: see {@link Rope}.
 *
 * @param layerTypes per layer, full_attention or sliding_attention (the latter only with a window)
 * @param qkNorm whether q and k are RMS-normalised per head before RoPE (Qwen3's q_norm and k_norm)
 */
public record LlamaConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        Rope rope,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        boolean qkNorm,
        Integer slidingWindow,
        List<String> layerTypes,
        List<Long> bosTokenIds,
        List<Long> eosTokenIds,
        List<Long> padTokenIds)
        implements ModelConfig {

    public static final String FULL = "full_attention";
    public static final String SLIDING = "sliding_attention";

    static LlamaConfig from(ConfigJson c, String type) {
        int hidden = c.requireSize("hidden_size");
        int heads = c.requireSize("num_attention_heads");
        int kvHeads = c.sizeOr("num_key_value_heads", heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw IceditException.inFile(c.file, "num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        Integer headDimKey = c.sizeOrNull("head_dim");
        if (headDimKey == null && hidden % heads != 0 && !type.equals("qwen3")) {
            throw IceditException.inFile(c.file, "hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + " and no head_dim is given");
        }
        // Qwen3Config's head_dim defaults to 128; the others' to hidden_size / num_attention_heads
        int headDim = headDimKey != null ? headDimKey : type.equals("qwen3") ? 128 : hidden / heads;
        if (headDim % 2 != 0) { // rotary embeddings turn pairs of a head's dimensions; transformers fails on it too
            throw IceditException.inFile(c.file, (headDimKey != null ? "head_dim " : "head dimension hidden_size / "
                    + "num_attention_heads = ") + headDim + " is odd: rotary position embeddings need an even one");
        }
        String act = c.stringOr("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw IceditException.inFile(c.file, "unsupported hidden_act '" + act + "' (only silu)");
        }
        int maxPos = c.sizeOr("max_position_embeddings", 2048);
        int layers = c.requireSize("num_hidden_layers");
        Integer window = type.equals("mistral") || (type.startsWith("qwen") && c.boolOr("use_sliding_window", false))
                ? c.sizeOrNull("sliding_window") : null;
        if (window != null && window < 1) {
            throw IceditException.inFile(c.file, "sliding_window must be >= 1, got " + window);
        }
        List<String> layerTypes = layerTypes(c, type, layers, window);
        boolean attentionBias = c.boolOr("attention_bias", false);
        boolean qkvBias = type.equals("qwen2") || ((type.equals("llama") || type.equals("qwen3")) && attentionBias);
        boolean oBias = (type.equals("llama") || type.equals("qwen3")) && attentionBias;
        return new LlamaConfig(
                type,
                c.requireSize("vocab_size"),
                hidden,
                c.requireSize("intermediate_size"),
                layers,
                heads,
                kvHeads,
                headDim,
                c.positiveOr("rms_norm_eps", 1e-6),
                Rope.read(c, maxPos),
                maxPos,
                c.boolOr("tie_word_embeddings", false),
                qkvBias,
                oBias,
                type.equals("llama") && c.boolOr("mlp_bias", false),
                type.equals("qwen3"),
                window,
                layerTypes,
                c.tokenIds("bos_token_id"),
                c.tokenIds("eos_token_id"),
                c.tokenIds("pad_token_id"));
    }

    /**
     * The attention of each layer as transformers 5 decides it: Mistral slides on every layer when it has a window;
     * Qwen2/Qwen3 take config.json's layer_types, else slide from layer max_window_layers (default 28) on when
     * use_sliding_window gives a window; Llama never slides.
     */
    private static List<String> layerTypes(ConfigJson c, String type, int layers, Integer window) {
        List<String> out = new java.util.ArrayList<>();
        JsonNode given = type.startsWith("qwen") ? c.node("layer_types") : null;
        if (given != null && !given.isNull()) {
            if (!given.isArray() || given.size() != layers) {
                throw IceditException.inFile(c.file, "layer_types must list one attention type per layer ("
                        + layers + "), found " + given);
            }
            for (JsonNode t : given) {
                if (!t.asText().equals(FULL) && !t.asText().equals(SLIDING)) {
                    throw IceditException.inFile(c.file, "layer_types: unsupported attention type " + t
                            + " (supported: " + FULL + ", " + SLIDING + ")");
                }
                if (t.asText().equals(SLIDING) && window == null) {
                    throw IceditException.inFile(c.file, "layer_types names " + SLIDING + " layers but there is no"
                            + " window (use_sliding_window is false or sliding_window is null)");
                }
                out.add(t.asText());
            }
            return List.copyOf(out);
        }
        int firstSliding = window == null ? layers : type.equals("mistral") ? 0 : c.intOr("max_window_layers", 28);
        return new FromLayer(layers, Math.max(0, firstSliding));
    }

    /**
     * Full attention below a layer and sliding from it on, computed rather than stored: the config is read before
     * the weights are, and a config.json may name far more layers than exist (the load then refuses it).
     */
    private static final class FromLayer extends java.util.AbstractList<String> {
        private final int layers;
        private final int firstSliding;

        FromLayer(int layers, int firstSliding) {
            this.layers = layers;
            this.firstSliding = firstSliding;
        }

        @Override
        public String get(int layer) {
            java.util.Objects.checkIndex(layer, layers);
            return layer >= firstSliding ? SLIDING : FULL;
        }

        @Override
        public int size() {
            return layers;
        }

        @Override
        public boolean contains(Object o) {
            return SLIDING.equals(o) ? firstSliding < layers : FULL.equals(o) && firstSliding > 0;
        }
    }

    /** The attention window of a layer, or null for full (causal) attention. */
    public Integer windowOf(int layer) {
        return SLIDING.equals(layerTypes.get(layer)) ? slidingWindow : null;
    }

    @Override
    public int numLayers() {
        return numHiddenLayers;
    }

    @Override
    public int numHeads() {
        return numAttentionHeads;
    }

    @Override
    public int maxPositions() {
        return rope.contextWindow();
    }

    @Override
    public Map<String, Object> features() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("position_encoding", "rope");
        m.put("rope", rope.describe());
        m.put("head_dim", headDim);
        m.put("tied_embeddings", tieWordEmbeddings);
        m.put("sliding_window", slidingWindow == null || !layerTypes.contains(SLIDING) ? "none"
                : slidingWindow + " tokens on layers " + compactLayers(SLIDING));
        m.put("qk_norm", qkNorm);
        m.put("attention_bias", qkvBias ? (outputBias ? "q, k, v, o" : "q, k, v") : "none");
        m.put("kv_heads", numKeyValueHeads);
        return m;
    }

    /** The layers of one attention type as ranges: "1-27" or "0, 2, 4". */
    private String compactLayers(String kind) {
        StringBuilder sb = new StringBuilder();
        int l = 0;
        while (l < layerTypes.size()) {
            if (!layerTypes.get(l).equals(kind)) {
                l++;
                continue;
            }
            int end = l;
            while (end + 1 < layerTypes.size() && layerTypes.get(end + 1).equals(kind)) {
                end++;
            }
            sb.append(sb.length() == 0 ? "" : ", ").append(l).append(end > l ? "-" + end : "");
            l = end + 1;
        }
        return sb.toString();
    }

    @Override
    public Map<String, long[]> parameterShapes() {
        long c = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long i = intermediateSize;
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[] {vocabSize, c});
        for (int l = 0; l < numHiddenLayers; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "self_attn.q_proj.weight", new long[] {q, c});
            if (qkvBias) {
                m.put(p + "self_attn.q_proj.bias", new long[] {q});
            }
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, c});
            if (qkvBias) {
                m.put(p + "self_attn.k_proj.bias", new long[] {kv});
            }
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, c});
            if (qkvBias) {
                m.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            m.put(p + "self_attn.o_proj.weight", new long[] {c, q});
            if (outputBias) {
                m.put(p + "self_attn.o_proj.bias", new long[] {c});
            }
            if (qkNorm) {
                m.put(p + "self_attn.q_norm.weight", new long[] {headDim});
                m.put(p + "self_attn.k_norm.weight", new long[] {headDim});
            }
            m.put(p + "mlp.gate_proj.weight", new long[] {i, c});
            m.put(p + "mlp.up_proj.weight", new long[] {i, c});
            m.put(p + "mlp.down_proj.weight", new long[] {c, i});
            if (mlpBias) {
                m.put(p + "mlp.gate_proj.bias", new long[] {i});
                m.put(p + "mlp.up_proj.bias", new long[] {i});
                m.put(p + "mlp.down_proj.bias", new long[] {c});
            }
            m.put(p + "input_layernorm.weight", new long[] {c});
            m.put(p + "post_attention_layernorm.weight", new long[] {c});
        }
        m.put("model.norm.weight", new long[] {c});
        if (!tieWordEmbeddings) {
            m.put("lm_head.weight", new long[] {vocabSize, c});
        }
        return m;
    }

    @Override
    public String mlpOutputWeight(int layer) {
        return "model.layers." + layer + ".mlp.down_proj.weight";
    }

    @Override
    public boolean mlpOutputIsTransposed() {
        return false;
    }
}
