package dev.icedit.model;

import dev.icedit.tensor.IceditException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama family ({@code model_type} llama, mistral, qwen2) as transformers names its keys. Mistral adds a
 * sliding attention window; Qwen2 adds biases to the q, k and v projections. RoPE settings are read from either
 * transformers 5's {@code rope_parameters} or the older {@code rope_theta} / {@code rope_scaling}.
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
        Integer slidingWindow,
        List<Long> bosTokenIds,
        List<Long> eosTokenIds,
        List<Long> padTokenIds)
        implements ModelConfig {

    /** Rotary embedding: base frequency and optional scaling (default, linear or llama3). */
    public record Rope(String type, double theta, double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositions) {}

    static LlamaConfig from(ConfigJson c, String type) {
        int hidden = c.requireSize("hidden_size");
        int heads = c.requireSize("num_attention_heads");
        int kvHeads = c.sizeOr("num_key_value_heads", heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw IceditException.inFile(c.file, "num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        Integer headDimKey = c.sizeOrNull("head_dim");
        if (headDimKey == null && hidden % heads != 0) {
            throw IceditException.inFile(c.file, "hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + " and no head_dim is given");
        }
        int headDim = headDimKey != null ? headDimKey : hidden / heads;
        String act = c.stringOr("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw IceditException.inFile(c.file, "unsupported hidden_act '" + act + "' (only silu)");
        }
        int maxPos = c.sizeOr("max_position_embeddings", 2048);
        Integer window = null;
        if (type.equals("mistral")) {
            window = c.sizeOrNull("sliding_window");
        } else if (type.equals("qwen2") && c.boolOr("use_sliding_window", false)) {
            window = c.sizeOrNull("sliding_window");
        }
        boolean qkvBias = type.equals("qwen2") || (type.equals("llama") && c.boolOr("attention_bias", false));
        boolean oBias = type.equals("llama") && c.boolOr("attention_bias", false);
        return new LlamaConfig(
                type,
                c.requireSize("vocab_size"),
                hidden,
                c.requireSize("intermediate_size"),
                c.requireSize("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                c.positiveOr("rms_norm_eps", 1e-6),
                readRope(c, maxPos),
                maxPos,
                c.boolOr("tie_word_embeddings", false),
                qkvBias,
                oBias,
                type.equals("llama") && c.boolOr("mlp_bias", false),
                window,
                c.tokenIds("bos_token_id"),
                c.tokenIds("eos_token_id"),
                c.tokenIds("pad_token_id"));
    }

    private static Rope readRope(ConfigJson c, int maxPos) {
        ConfigJson params = c.object("rope_parameters");
        ConfigJson scaling = c.object("rope_scaling");
        double theta = c.positiveOr("rope_theta", 10000.0);
        ConfigJson spec = null;
        if (params != null) {
            spec = params;
            theta = params.positiveOr("rope_theta", theta);
        } else if (scaling != null) {
            spec = scaling;
        }
        if (spec == null) {
            return new Rope("default", theta, 1, 1, 4, maxPos);
        }
        String type = spec.stringOr("rope_type", spec.stringOr("type", "default"));
        double factor = spec.positiveOr("factor", 1.0);
        switch (type) {
            case "default":
            case "linear":
            case "llama3":
                break;
            default:
                throw IceditException.inFile(c.file, "unsupported rope type '" + type
                        + "' (supported: default, linear, llama3)");
        }
        return new Rope(type, theta, factor,
                spec.positiveOr("low_freq_factor", 1.0),
                spec.positiveOr("high_freq_factor", 4.0),
                spec.sizeOr("original_max_position_embeddings", maxPos));
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
        return maxPositionEmbeddings;
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
