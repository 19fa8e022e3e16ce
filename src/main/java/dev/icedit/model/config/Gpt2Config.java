package dev.icedit.model.config;

import dev.icedit.tensor.IceditException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** GPT-2 ({@code model_type: gpt2}) as transformers' GPT2Config names its keys. */
public record Gpt2Config(
        int vocabSize,
        int nPositions,
        int nEmbd,
        int nLayer,
        int nHead,
        int nInner,
        String activationFunction,
        double layerNormEpsilon,
        boolean scaleAttnWeights,
        boolean scaleAttnByInverseLayerIdx,
        List<Long> bosTokenIds,
        List<Long> eosTokenIds,
        List<Long> padTokenIds)
        implements ModelConfig {

    static Gpt2Config from(ConfigJson c) {
        int nEmbd = c.requireSize("n_embd");
        int nHead = c.requireSize("n_head");
        if (nHead <= 0 || nEmbd % nHead != 0) {
            throw IceditException.inFile(c.file, "n_embd " + nEmbd + " is not a multiple of n_head " + nHead);
        }
        String act = c.stringOr("activation_function", "gelu_new");
        if (!List.of("gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu", "swish").contains(act)) {
            throw IceditException.inFile(c.file, "unsupported activation_function '" + act + "'");
        }
        if (c.boolOr("add_cross_attention", false)) {
            throw IceditException.inFile(c.file, "add_cross_attention is not supported");
        }
        return new Gpt2Config(
                c.requireSize("vocab_size"),
                c.sizeOr("n_positions", 1024),
                nEmbd,
                c.requireSize("n_layer"),
                nHead,
                c.has("n_inner") ? c.requireSize("n_inner") : c.derivedSize("n_inner", "4 x n_embd", 4L * nEmbd),
                act,
                c.positiveOr("layer_norm_epsilon", 1e-5),
                c.boolOr("scale_attn_weights", true),
                c.boolOr("scale_attn_by_inverse_layer_idx", false),
                c.tokenIds("bos_token_id"),
                c.tokenIds("eos_token_id"),
                c.tokenIds("pad_token_id"));
    }

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public int hiddenSize() {
        return nEmbd;
    }

    @Override
    public int intermediateSize() {
        return nInner;
    }

    @Override
    public int numLayers() {
        return nLayer;
    }

    @Override
    public int numHeads() {
        return nHead;
    }

    @Override
    public int maxPositions() {
        return nPositions;
    }

    @Override
    public boolean tieWordEmbeddings() {
        return true;
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    @Override
    public Map<String, Object> features() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("position_encoding", "learned (" + nPositions + " positions)");
        m.put("head_dim", headDim());
        m.put("tied_embeddings", true);
        m.put("sliding_window", "none");
        m.put("qk_norm", false);
        m.put("activation", activationFunction);
        return m;
    }

    @Override
    public Map<String, long[]> parameterShapes() {
        long c = nEmbd;
        long i = nInner;
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("transformer.wte.weight", new long[] {vocabSize, c});
        m.put("transformer.wpe.weight", new long[] {nPositions, c});
        for (int l = 0; l < nLayer; l++) {
            String p = "transformer.h." + l + ".";
            m.put(p + "ln_1.weight", new long[] {c});
            m.put(p + "ln_1.bias", new long[] {c});
            m.put(p + "attn.c_attn.weight", new long[] {c, 3 * c});
            m.put(p + "attn.c_attn.bias", new long[] {3 * c});
            m.put(p + "attn.c_proj.weight", new long[] {c, c});
            m.put(p + "attn.c_proj.bias", new long[] {c});
            m.put(p + "ln_2.weight", new long[] {c});
            m.put(p + "ln_2.bias", new long[] {c});
            m.put(p + "mlp.c_fc.weight", new long[] {c, i});
            m.put(p + "mlp.c_fc.bias", new long[] {i});
            m.put(p + "mlp.c_proj.weight", new long[] {i, c});
            m.put(p + "mlp.c_proj.bias", new long[] {c});
        }
        m.put("transformer.ln_f.weight", new long[] {c});
        m.put("transformer.ln_f.bias", new long[] {c});
        return m;
    }

    @Override
    public String mlpOutputWeight(int layer) {
        return "transformer.h." + layer + ".mlp.c_proj.weight";
    }

    @Override
    public boolean mlpOutputIsTransposed() {
        return true;
    }
}
