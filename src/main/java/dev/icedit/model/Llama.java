package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import dev.icedit.model.config.LlamaConfig;
import dev.icedit.tensor.HostArrays;

/**
 * The Llama forward pass (also Mistral, Qwen2 and Qwen3), following transformers' modeling_llama.py; Qwen3's
 * per-head q/k norm and the per-layer attention windows as modeling_qwen3.py and modeling_qwen2.py add them.
 *
 * <p>Shapes: B batch, T new tokens, S all positions (cached plus new), C hidden size, I MLP inner size, V vocabulary,
 * H query heads, G key/value heads, D head size.
 */
final class Llama implements Transformer {
    private final LlamaConfig cfg;
    /** The inverse frequencies for calls up to max_position_embeddings (all calls unless they depend on length). */
    private final float[] invFreq;
    private final float ropeScaling;
    private final DataType dtype;
    private final String[][] names;
    private final String lmHead;
    /** Constants made once per model (scalars and the rotate-half matrix), so a pass creates none of them. */
    private final NDArray attentionScale;
    private final NDArray normEps;
    private final NDArray minusHalf;
    private final NDArray rotateHalf;

    private static final int Q = 0, QB = 1, K = 2, KB = 3, V = 4, VB = 5, O = 6, OB = 7, GATE = 8, UP = 9, DOWN = 10,
            GATE_B = 11, UP_B = 12, DOWN_B = 13, LN1 = 14, LN2 = 15, QN = 16, KN = 17;

    Llama(LlamaConfig cfg, DataType dtype, NDManager manager) {
        this.cfg = cfg;
        this.dtype = dtype;
        this.attentionScale = HostArrays.scalar(manager, 1.0 / Math.sqrt(cfg.headDim()), dtype);
        this.normEps = HostArrays.scalar(manager, cfg.rmsNormEps(), DataType.FLOAT32);
        this.minusHalf = HostArrays.scalar(manager, -0.5, DataType.FLOAT32);
        this.rotateHalf = rotateHalfMatrix(manager, cfg.headDim(), dtype);
        ai.djl.ndarray.NDScope.unregister(attentionScale, normEps, minusHalf, rotateHalf);
        this.invFreq = cfg.rope().inverseFrequencies(cfg.headDim(), cfg.rope().maxPositions());
        this.ropeScaling = cfg.rope().attentionScaling();
        this.names = new String[cfg.numHiddenLayers()][];
        for (int l = 0; l < names.length; l++) {
            String p = "model.layers." + l + ".";
            names[l] = new String[] {
                p + "self_attn.q_proj.weight", p + "self_attn.q_proj.bias",
                p + "self_attn.k_proj.weight", p + "self_attn.k_proj.bias",
                p + "self_attn.v_proj.weight", p + "self_attn.v_proj.bias",
                p + "self_attn.o_proj.weight", p + "self_attn.o_proj.bias",
                p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight",
                p + "mlp.gate_proj.bias", p + "mlp.up_proj.bias", p + "mlp.down_proj.bias",
                p + "input_layernorm.weight", p + "post_attention_layernorm.weight",
                p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"
            };
        }
        this.lmHead = cfg.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
    }

    @Override
    public NDArray hidden(Weights w, NDArray ids, AttentionContext ctx, KvCache cache, Hooks hooks,
            FrozenPrefix prefix) {
        NDManager m = ids.getManager();
        int b = (int) ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        NDArray[] rope = rotaryTables(m, ctx); // 2 x (B, 1, T, D)
        boolean resume = prefix != null && prefix.ready();
        NDArray x = resume ? null : ids.getNDArrayInternal()
                .embedding(ids, w.get("model.embed_tokens.weight"), SparseFormat.DENSE).singletonOrThrow(); // (B, T, C)
        for (int l = resume ? prefix.layer() : 0; l < names.length; l++) {
            String[] n = names[l];
            NDArray mlp;
            if (resume && l == prefix.layer()) {
                x = prefix.residual(); // (B, T, C)
                if (prefix.keepsInput()) {
                    NDArray k = prefix.kept(); // (B, T, I)
                    mlp = linear(k, w, n[DOWN], cfg.mlpBias() ? n[DOWN_B] : null); // (B, T, C)
                } else {
                    mlp = prefix.kept(); // (B, T, C)
                }
            } else {
                x = hooks.at(l, ActivationSite.Kind.RESIDUAL_IN, x);
                NDArray h = rmsNorm(x, w.get(n[LN1])); // (B, T, C)
                NDArray a = attention(w, n, l, h, b, t, rope, ctx.mask(cfg.windowOf(l)), cache); // (B, T, C)
                x = x.add(a); // (B, T, C)
                h = rmsNorm(x, w.get(n[LN2])); // (B, T, C)
                NDArray gate = linear(h, w, n[GATE], cfg.mlpBias() ? n[GATE_B] : null); // (B, T, I)
                NDArray up = linear(h, w, n[UP], cfg.mlpBias() ? n[UP_B] : null); // (B, T, I)
                NDArray k = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up); // (B, T, I) silu(gate) * up
                k = hooks.at(l, ActivationSite.Kind.MLP_IN, k);
                mlp = linear(k, w, n[DOWN], cfg.mlpBias() ? n[DOWN_B] : null); // (B, T, C)
                if (prefix != null && l == prefix.layer()) {
                    prefix.keep(x, k, mlp);
                }
            }
            mlp = hooks.at(l, ActivationSite.Kind.MLP_OUT, mlp);
            x = x.add(mlp); // (B, T, C)
            x = hooks.at(l, ActivationSite.Kind.RESIDUAL_OUT, x);
        }
        return rmsNorm(x, w.get("model.norm.weight")); // (B, T, C)
    }

    private NDArray attention(Weights w, String[] n, int layer, NDArray h, int b, int t, NDArray[] rope,
            NDArray mask, KvCache cache) {
        int heads = cfg.numAttentionHeads();
        int kvHeads = cfg.numKeyValueHeads();
        int d = cfg.headDim();
        NDArray q = linear(h, w, n[Q], cfg.qkvBias() ? n[QB] : null).reshape(b, t, heads, d); // (B, T, H, D)
        NDArray k = linear(h, w, n[K], cfg.qkvBias() ? n[KB] : null).reshape(b, t, kvHeads, d); // (B, T, G, D)
        if (cfg.qkNorm()) {
            q = rmsNorm(q, w.get(n[QN])); // (B, T, H, D) each head normalised over D
            k = rmsNorm(k, w.get(n[KN])); // (B, T, G, D)
        }
        q = q.transpose(0, 2, 1, 3); // (B, H, T, D)
        k = k.transpose(0, 2, 1, 3); // (B, G, T, D)
        NDArray v = linear(h, w, n[V], cfg.qkvBias() ? n[VB] : null)
                .reshape(b, t, kvHeads, d).transpose(0, 2, 1, 3); // (B, G, T, D)
        q = applyRotary(q, rope); // (B, H, T, D)
        k = applyRotary(k, rope); // (B, G, T, D)
        if (cache != null) {
            NDArray[] kv = cache.append(layer, k, v);
            k = kv[0]; // (B, G, S, D)
            v = kv[1]; // (B, G, S, D)
        }
        if (kvHeads != heads) {
            k = k.repeat(1, heads / kvHeads); // (B, H, S, D)
            v = v.repeat(1, heads / kvHeads); // (B, H, S, D)
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(attentionScale).add(mask); // (B, H, T, S)
        NDArray out = scores.softmax(-1).matMul(v); // (B, H, T, D)
        out = out.transpose(0, 2, 1, 3).reshape(b, t, heads * d); // (B, T, H*D)
        return linear(out, w, n[O], cfg.outputBias() ? n[OB] : null); // (B, T, C)
    }

    @Override
    public NDArray logits(Weights w, NDArray hidden) {
        return hidden.getNDArrayInternal().linear(hidden, w.get(lmHead), null).singletonOrThrow(); // (B, T, V)
    }

    private static NDArray linear(NDArray x, Weights w, String weight, String bias) {
        return x.getNDArrayInternal().linear(x, w.get(weight), bias == null ? null : w.get(bias)).singletonOrThrow();
    }

    /** x * rsqrt(mean(x^2) + eps) * weight, computed in float32 as transformers does. */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray xf = x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        NDArray variance = xf.square().mean(new int[] {-1}, true); // (B, T, 1)
        NDArray normed = xf.mul(variance.add(normEps).pow(minusHalf)); // (B, T, C)
        if (dtype != DataType.FLOAT32) {
            normed = normed.toType(dtype, false);
        }
        return normed.mul(weight);
    }

    /**
     * cos and sin tables (B, 1, T, D) for the step's positions: [cos(p f), cos(p f)] * s with f the D/2 inverse
     * frequencies and s the rope's attention scaling, in float32 as transformers computes them. Frequencies that
     * depend on the length (dynamic NTK) are computed for the step's largest position, over the whole batch.
     */
    private NDArray[] rotaryTables(NDManager m, AttentionContext ctx) {
        long[][] positions = ctx.positions;
        int seqLen = ctx.sequenceLength();
        float[] inv = cfg.rope().dependsOnLength() && seqLen > cfg.rope().maxPositions()
                ? cfg.rope().inverseFrequencies(cfg.headDim(), seqLen) : invFreq;
        int b = positions.length;
        int t = positions[0].length;
        int d = cfg.headDim();
        int half = d / 2;
        float[] cos = new float[b * t * d];
        float[] sin = new float[b * t * d];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                float p = positions[i][j];
                int base = (i * t + j) * d;
                for (int f = 0; f < half; f++) {
                    float angle = p * inv[f];
                    float c = (float) Math.cos(angle) * ropeScaling;
                    float s = (float) Math.sin(angle) * ropeScaling;
                    cos[base + f] = c;
                    cos[base + half + f] = c;
                    sin[base + f] = s;
                    sin[base + half + f] = s;
                }
            }
        }
        Shape shape = new Shape(b, 1, t, d);
        NDArray cosArr = HostArrays.of(m, cos, shape);
        NDArray sinArr = HostArrays.of(m, sin, shape);
        if (dtype != DataType.FLOAT32) {
            cosArr = cosArr.toType(dtype, false);
            sinArr = sinArr.toType(dtype, false);
        }
        return new NDArray[] {cosArr, sinArr};
    }

    /** x * cos + rotate_half(x) * sin, where rotate_half([x1, x2]) = [-x2, x1] is x times a signed permutation. */
    private NDArray applyRotary(NDArray x, NDArray[] rope) {
        return x.mul(rope[0]).add(x.matMul(rotateHalf).mul(rope[1]));
    }

    /**
     * The (D, D) matrix R with x R = rotate_half(x): one matrix product instead of slicing and concatenating. Each
     * output sums one +-x term and zeros, so it is exact.
     */
    private static NDArray rotateHalfMatrix(NDManager manager, int d, DataType dtype) {
        int half = d / 2;
        float[] r = new float[d * d];
        for (int i = 0; i < half; i++) {
            r[(i + half) * d + i] = -1f; // output i takes -x[i + half]
            r[i * d + i + half] = 1f; // output i + half takes x[i]
        }
        NDArray m = HostArrays.of(manager, r, new Shape(d, d));
        if (dtype == DataType.FLOAT32) {
            return m;
        }
        NDArray c = m.toType(dtype, true);
        m.close();
        return c;
    }
}
