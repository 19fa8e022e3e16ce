package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import dev.icedit.model.config.Gpt2Config;
import dev.icedit.tensor.HostArrays;

/**
 * The GPT-2 forward pass, following transformers' modeling_gpt2.py. GPT-2 stores its projections as Conv1D,
 * weight (in, out), so a projection is x W + b.
 *
 * <p>Shapes: B batch, T new tokens, S all positions (cached plus new), C hidden size, I MLP inner size, V vocabulary,
 * H heads, D head size.
 */
final class Gpt2 implements Transformer {
    private final Gpt2Config cfg;
    private final String[][] names;

    private static final int LN1_W = 0, LN1_B = 1, QKV_W = 2, QKV_B = 3, O_W = 4, O_B = 5, LN2_W = 6, LN2_B = 7,
            FC_W = 8, FC_B = 9, PROJ_W = 10, PROJ_B = 11;

    Gpt2(Gpt2Config cfg) {
        this.cfg = cfg;
        this.names = new String[cfg.nLayer()][];
        for (int l = 0; l < names.length; l++) {
            String p = "transformer.h." + l + ".";
            names[l] = new String[] {
                p + "ln_1.weight", p + "ln_1.bias", p + "attn.c_attn.weight", p + "attn.c_attn.bias",
                p + "attn.c_proj.weight", p + "attn.c_proj.bias", p + "ln_2.weight", p + "ln_2.bias",
                p + "mlp.c_fc.weight", p + "mlp.c_fc.bias", p + "mlp.c_proj.weight", p + "mlp.c_proj.bias"
            };
        }
    }

    @Override
    public NDArray hidden(Weights w, NDArray ids, AttentionContext ctx, KvCache cache, Hooks hooks,
            FrozenPrefix prefix) {
        NDManager m = ids.getManager();
        int b = (int) ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        boolean resume = prefix != null && prefix.ready();
        NDArray x = null;
        if (!resume) {
            long[] flatPositions = new long[b * t];
            for (int i = 0; i < b; i++) {
                System.arraycopy(ctx.positions[i], 0, flatPositions, i * t, t);
            }
            NDArray positions = HostArrays.of(m, flatPositions, new Shape(b, t)); // (B, T)
            x = embed(ids, w.get("transformer.wte.weight")).add(embed(positions, w.get("transformer.wpe.weight"))); // (B, T, C)
        }
        for (int l = resume ? prefix.layer() : 0; l < names.length; l++) {
            String[] n = names[l];
            NDArray mlp;
            if (resume && l == prefix.layer()) {
                x = prefix.residual(); // (B, T, C)
                if (prefix.keepsInput()) {
                    NDArray k = prefix.kept(); // (B, T, I)
                    mlp = conv1d(k, w.get(n[PROJ_W]), w.get(n[PROJ_B])); // (B, T, C)
                } else {
                    mlp = prefix.kept(); // (B, T, C)
                }
            } else {
                x = hooks.at(l, ActivationSite.Kind.RESIDUAL_IN, x);
                NDArray h = layerNorm(x, w.get(n[LN1_W]), w.get(n[LN1_B])); // (B, T, C)
                x = x.add(attention(w, n, l, h, b, t, ctx.mask(null), cache)); // (B, T, C)
                h = layerNorm(x, w.get(n[LN2_W]), w.get(n[LN2_B])); // (B, T, C)
                NDArray k = activation(conv1d(h, w.get(n[FC_W]), w.get(n[FC_B]))); // (B, T, I)
                k = hooks.at(l, ActivationSite.Kind.MLP_IN, k);
                mlp = conv1d(k, w.get(n[PROJ_W]), w.get(n[PROJ_B])); // (B, T, C)
                if (prefix != null && l == prefix.layer()) {
                    prefix.keep(x, k, mlp);
                }
            }
            mlp = hooks.at(l, ActivationSite.Kind.MLP_OUT, mlp);
            x = x.add(mlp); // (B, T, C)
            x = hooks.at(l, ActivationSite.Kind.RESIDUAL_OUT, x);
        }
        return layerNorm(x, w.get("transformer.ln_f.weight"), w.get("transformer.ln_f.bias")); // (B, T, C)
    }

    private NDArray attention(Weights w, String[] n, int layer, NDArray h, int b, int t, NDArray mask, KvCache cache) {
        int heads = cfg.nHead();
        int d = cfg.headDim();
        int c = cfg.nEmbd();
        NDArray qkv = conv1d(h, w.get(n[QKV_W]), w.get(n[QKV_B])); // (B, T, 3C)
        NDArray q = qkv.get(":, :, 0:" + c).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, T, D)
        NDArray k = qkv.get(":, :, " + c + ":" + 2 * c).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, T, D)
        NDArray v = qkv.get(":, :, " + 2 * c + ":").reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, T, D)
        if (cache != null) {
            NDArray[] kv = cache.append(layer, k, v);
            k = kv[0]; // (B, H, S, D)
            v = kv[1]; // (B, H, S, D)
        }
        double scale = cfg.scaleAttnWeights() ? 1.0 / Math.sqrt(d) : 1.0;
        if (cfg.scaleAttnByInverseLayerIdx()) {
            scale /= layer + 1;
        }
        NDArray scores = HostArrays.times(q.matMul(k.transpose(0, 1, 3, 2)), scale).add(mask); // (B, H, T, S)
        NDArray out = scores.softmax(-1).matMul(v); // (B, H, T, D)
        out = out.transpose(0, 2, 1, 3).reshape(b, t, c); // (B, T, C)
        return conv1d(out, w.get(n[O_W]), w.get(n[O_B])); // (B, T, C)
    }

    @Override
    public NDArray logits(Weights w, NDArray hidden) {
        return hidden.getNDArrayInternal().linear(hidden, w.get("transformer.wte.weight"), null).singletonOrThrow(); // (B, T, V)
    }

    private static NDArray embed(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    private static NDArray conv1d(NDArray x, NDArray weight, NDArray bias) {
        return x.matMul(weight).add(bias);
    }

    private NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(cfg.nEmbd()), gamma, beta, (float) cfg.layerNormEpsilon())
                .singletonOrThrow();
    }

    private NDArray activation(NDArray x) {
        switch (cfg.activationFunction()) {
            case "gelu_new":
            case "gelu_pytorch_tanh": {
                // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                NDArray inner = HostArrays.times(HostArrays.times(x.pow(HostArrays.scalar(x.getManager(), 3, x.getDataType())),
                        0.044715).add(x), Math.sqrt(2.0 / Math.PI));
                return HostArrays.times(HostArrays.plus(inner.tanh(), 1.0).mul(x), 0.5);
            }
            case "gelu":
                return x.getNDArrayInternal().gelu();
            case "relu":
                return x.getNDArrayInternal().relu();
            default:
                return x.mul(x.getNDArrayInternal().sigmoid());
        }
    }
}
