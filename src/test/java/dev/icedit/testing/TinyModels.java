package dev.icedit.testing;

import dev.icedit.model.RandomModel;
import dev.icedit.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Config contents for tiny random models that tests build on the fly. */
public final class TinyModels {
    private TinyModels() {}

    public static Map<String, Object> llama(int layers, int hidden, int vocab) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", "llama");
        c.put("architectures", java.util.List.of("LlamaForCausalLM"));
        c.put("vocab_size", vocab);
        c.put("hidden_size", hidden);
        c.put("intermediate_size", hidden * 2);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("max_position_embeddings", 256);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        return c;
    }

    /** Qwen3 as its configs are written: head_dim 32 whatever the width, q/k norm, no biases, tied, no BOS. */
    public static Map<String, Object> qwen3(int layers, int hidden, int vocab) {
        Map<String, Object> c = llama(layers, hidden, vocab);
        c.put("model_type", "qwen3");
        c.put("architectures", java.util.List.of("Qwen3ForCausalLM"));
        c.put("head_dim", 32);
        c.put("attention_bias", false);
        c.put("tie_word_embeddings", true);
        c.put("use_sliding_window", false);
        c.put("rope_theta", 1000000.0);
        c.put("bos_token_id", null);
        c.put("eos_token_id", 0);
        c.put("pad_token_id", 0);
        return c;
    }

    public static Map<String, Object> gpt2(int layers, int hidden, int vocab) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", "gpt2");
        c.put("architectures", java.util.List.of("GPT2LMHeadModel"));
        c.put("vocab_size", vocab);
        c.put("n_embd", hidden);
        c.put("n_layer", layers);
        c.put("n_head", 4);
        c.put("n_positions", 256);
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 0);
        return c;
    }

    public static Path write(Path dir, Map<String, Object> config, long seed) throws IOException {
        RandomModel.write(dir, config, DType.F32, 0.2, seed, null);
        return dir;
    }

    /** A tiny random model with the tokenizer of a golden directory (vocab 512), so it runs from the command line. */
    public static Path writeWithTokenizer(Path dir, Map<String, Object> config, long seed, String goldenName)
            throws IOException {
        RandomModel.write(dir, config, DType.F32, 0.2, seed, Golden.ROOT.resolve(goldenName));
        return dir;
    }
}
