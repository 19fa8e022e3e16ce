package dev.icedit.edit.tuning;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * Hyper-parameters of the constrained fine-tuning loop shared by ICE, FT-M and FT-L, named as the ICE paper's
 * released configurations name them. {@code objective} picks the loss: {@code target_and_completion_with_context}
 * (ICE), {@code target_new} (FT-M) or {@code prompt_last} (FT-L).
 *
 * @param layers layers whose MLP output projection is trained
 * @param numSteps optimisation steps over all requests
 * @param batchSize requests per optimiser step
 * @param lr Adam learning rate
 * @param weightDecay Adam weight decay (L2, as torch.optim.Adam applies it)
 * @param normConstraint every trained element stays within this distance of its value before the edit
 * @param maxNewTokens ICE: tokens sampled as the continuation y at each step (default 3)
 * @param temperature ICE: sampling temperature of y (default 100)
 * @param staticTarget ICE: sample y once before the first step and reuse it
 * @param sampleWithContext ICE: sample y from the model given the context (else from the prompt alone)
 * @param earlyStopLoss stop once a step's mean loss is below this (null: run all steps, as the paper does)
 * @param seed seed of every random choice (context phrases, sampling)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record TuningHyperParams(
        @JsonProperty(value = "alg_name", required = true) String algName,
        @JsonProperty(value = "layers", required = true) List<Integer> layers,
        @JsonProperty(value = "num_steps", required = true) int numSteps,
        @JsonProperty(value = "batch_size", required = true) int batchSize,
        @JsonProperty(value = "lr", required = true) double lr,
        @JsonProperty("weight_decay") Double weightDecay,
        @JsonProperty(value = "norm_constraint", required = true) double normConstraint,
        @JsonProperty("max_new_tokens") Integer maxNewTokens,
        @JsonProperty("temperature") Double temperature,
        @JsonProperty("static_target") Boolean staticTarget,
        @JsonProperty("sample_with_context") Boolean sampleWithContext,
        @JsonProperty(value = "objective", required = true) String objective,
        @JsonProperty("early_stop_loss") Double earlyStopLoss,
        @JsonProperty("seed") Long seed) {

    public static final String ICE = "target_and_completion_with_context";
    public static final String FT_M = "target_new";
    public static final String FT_L = "prompt_last";

    public TuningHyperParams {
        if (layers == null || layers.isEmpty()) {
            throw new IceditException("layers must list at least one layer");
        }
        layers = List.copyOf(layers);
        if (numSteps < 1) {
            throw new IceditException("num_steps must be >= 1, got " + numSteps);
        }
        if (batchSize < 1) {
            throw new IceditException("batch_size must be >= 1, got " + batchSize);
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IceditException("lr must be a positive number, got " + lr);
        }
        if (!(normConstraint > 0)) {
            throw new IceditException("norm_constraint must be positive, got " + normConstraint);
        }
        if (!List.of(ICE, FT_M, FT_L).contains(objective)) {
            throw new IceditException("objective must be one of " + List.of(ICE, FT_M, FT_L) + ", got '" + objective + "'");
        }
        weightDecay = weightDecay == null ? 0.0 : weightDecay;
        maxNewTokens = maxNewTokens == null ? 3 : maxNewTokens;
        temperature = temperature == null ? 100.0 : temperature;
        staticTarget = staticTarget != null && staticTarget;
        seed = seed == null ? 0L : seed;
        if (objective.equals(ICE) && (maxNewTokens < 1 || !(temperature > 0))) {
            throw new IceditException("ICE needs max_new_tokens >= 1 and temperature > 0");
        }
        if (sampleWithContext == null) {
            sampleWithContext = Boolean.TRUE;
        }
    }

    public TuningHyperParams withLayers(List<Integer> l) {
        return new TuningHyperParams(algName, l, numSteps, batchSize, lr, weightDecay, normConstraint, maxNewTokens,
                temperature, staticTarget, sampleWithContext, objective, earlyStopLoss, seed);
    }

    public TuningHyperParams withSeed(long s) {
        return new TuningHyperParams(algName, layers, numSteps, batchSize, lr, weightDecay, normConstraint,
                maxNewTokens, temperature, staticTarget, sampleWithContext, objective, earlyStopLoss, s);
    }

    public TuningHyperParams withNumSteps(int n) {
        return new TuningHyperParams(algName, layers, n, batchSize, lr, weightDecay, normConstraint, maxNewTokens,
                temperature, staticTarget, sampleWithContext, objective, earlyStopLoss, seed);
    }
}
