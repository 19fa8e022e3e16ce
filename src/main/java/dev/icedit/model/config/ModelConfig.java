package dev.icedit.model.config;

import dev.icedit.tensor.IceditException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An architecture's hyper-parameters, read from {@code config.json}, and the Hugging Face names of its weights.
 * One record per family: {@link Gpt2Config} for {@code gpt2}, {@link LlamaConfig} for {@code llama},
 * {@code mistral}, {@code qwen2} and {@code qwen3}.
 */
public sealed interface ModelConfig permits Gpt2Config, LlamaConfig {
    String modelType();

    int vocabSize();

    int hiddenSize();

    /** Width of the MLP's inner activation: the input of its output projection. */
    int intermediateSize();

    int numLayers();

    int numHeads();

    /** The longest sequence (prompt plus generated tokens) the model accepts. */
    int maxPositions();

    boolean tieWordEmbeddings();

    /** Token ids named in config.json (may be empty). */
    List<Long> bosTokenIds();

    List<Long> eosTokenIds();

    List<Long> padTokenIds();

    /**
     * The architecture's features as {@code icedit inspect} lists them: position encoding (rope type and
     * parameters), head_dim, tied embeddings, attention window per layer, q/k norm, biases.
     */
    java.util.Map<String, Object> features();

    /** Every weight the forward pass reads, by Hugging Face name, with its shape, in transformers' order. */
    Map<String, long[]> parameterShapes();

    /** The weight of layer {@code layer}'s MLP output projection (ICE's and ROME's edit target). */
    String mlpOutputWeight(int layer);

    /**
     * Whether {@link #mlpOutputWeight} is stored as (in, out), as GPT-2's Conv1D does, rather than (out, in) as
     * nn.Linear does.
     */
    boolean mlpOutputIsTransposed();

    /** Tensors a checkpoint may hold that are buffers, not weights (masks, rotary tables); they are ignored. */
    default boolean isIgnoredBuffer(String name) {
        return name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias")
                || name.endsWith("rotary_emb.inv_freq");
    }

    static ModelConfig read(Path configJson) {
        ConfigJson c = ConfigJson.read(configJson);
        String type = c.stringOr("model_type", null);
        if (type == null) {
            throw IceditException.inFile(configJson, "missing required key 'model_type'");
        }
        switch (type) {
            case "gpt2":
                return Gpt2Config.from(c);
            case "llama":
            case "mistral":
            case "qwen2":
            case "qwen3":
                return LlamaConfig.from(c, type);
            default:
                throw IceditException.inFile(configJson, "unsupported model_type '" + type
                        + "' (supported: gpt2, llama, mistral, qwen2, qwen3)");
        }
    }
}
