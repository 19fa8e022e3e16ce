package dev.icedit.edit.tuning;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.model.config.SamplingDefaults;
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
 * @param topK ICE: {@code top_k}, y is sampled from the k most likely tokens after the temperature (0: all); absent,
 *     the model's generation_config.json top_k, else 50, as {@code model.generate(do_sample=True)} samples
 * @param topP ICE: {@code top_p}, then from the smallest set whose probabilities sum to at least top_p (1: all);
 *     absent, the model's generation_config.json top_p, else 1.0
 * @param contextPhrases ICE: {@code context_phrases}, the phrases put before a context sentence: {@code paper} (the
 *     six the released code means to list, the default) or {@code released} (the four its list holds: two missing
 *     commas join three of them)
 * @param defaultContext ICE: {@code default_context}, the context sentence of a request that has none: {@code paper}
 *     ("{prompt} {target}.", the default) or {@code released} ("{prompt} {target}. ", so two spaces before " Now: ")
 * @param targetMask ICE: {@code target_mask}, the tokens the -log p - log q terms cover: {@code target} (those of x*,
 *     the default) or {@code released} (the last len(tokenizer(" " + target)) tokens of prompt and target, which
 *     counts BOS where the tokenizer adds one and so also covers the prompt's last token)
 * @param earlyStopLoss stop once a step's mean loss is below this (null: run all steps, as the paper does)
 * @param seed seed of every random choice (context phrases, sampling)
 * @param nullSpace {@code null_space}: every change of a trained matrix is projected onto the null space of the
 *     preserved keys, as AlphaEdit does its update ({@link dev.icedit.edit.locate.NullSpace}); needs the statistics
 *     settings below (absent or false: off)
 * @param nullspaceThreshold {@code nullspace_threshold}: as AlphaEdit's, eigenvalues of C below it span the null space
 * @param nullSpaceEditedKeys {@code null_space_edited_keys}: in a sequence of edits, the keys at which the earlier
 *     edits wrote their targets are preserved too (default false)
 * @param mom2Dataset {@code mom2_dataset}, {@code mom2_n_samples}, {@code mom2_dtype}, {@code stats_dir}: the key
 *     statistics C, as ROME and MEMIT name them (and share their cache)
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
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("top_k") Integer topK,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("top_p") Double topP,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("context_phrases") String contextPhrases,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("default_context") String defaultContext,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("target_mask") String targetMask,
        @JsonProperty(value = "objective", required = true) String objective,
        @JsonProperty("early_stop_loss") Double earlyStopLoss,
        @JsonProperty("seed") Long seed,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("null_space") Boolean nullSpace,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("nullspace_threshold") Double nullspaceThreshold,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("null_space_edited_keys") Boolean nullSpaceEditedKeys,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("mom2_dataset") String mom2Dataset,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("mom2_n_samples") Integer mom2NSamples,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("mom2_dtype") String mom2Dtype,
        @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("stats_dir") String statsDir) {

    public static final String ICE = "target_and_completion_with_context";
    public static final String FT_M = "target_new";
    public static final String FT_L = "prompt_last";
    /** Values of context_phrases, default_context and target_mask. */
    public static final String PAPER = "paper";
    public static final String RELEASED = "released";
    public static final String TARGET = "target";

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
        if (topK != null && topK < 0) {
            throw new IceditException("top_k must be >= 0 (0: off), got " + topK);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new IceditException("top_p must be in (0, 1] (1: off), got " + topP);
        }
        if (objective.equals(ICE)) {
            contextPhrases = choice("context_phrases", contextPhrases, PAPER, RELEASED);
            defaultContext = choice("default_context", defaultContext, PAPER, RELEASED);
            targetMask = choice("target_mask", targetMask, TARGET, RELEASED);
        }
        if (Boolean.TRUE.equals(nullSpace)) {
            if (nullspaceThreshold == null || mom2Dataset == null || mom2NSamples == null) {
                throw new IceditException("null_space: true needs nullspace_threshold, mom2_dataset and mom2_n_samples"
                        + " (the key statistics whose null space the changes are projected onto)");
            }
            if (!(nullspaceThreshold > 0) || Double.isInfinite(nullspaceThreshold)) {
                throw new IceditException("nullspace_threshold must be a positive number, got " + nullspaceThreshold);
            }
            mom2Dtype = mom2Dtype == null ? "float32" : mom2Dtype;
            nullSpaceEditedKeys = Boolean.TRUE.equals(nullSpaceEditedKeys);
            new Mom2Settings(mom2Dataset, mom2NSamples, mom2Dtype, statsDir); // validates
        } else {
            nullSpace = null; // off (the keys below, if given, are not read): reported as before the option existed
        }
    }

    /** The hyper-parameters without the null-space projection, in the key order of the released files. */
    public TuningHyperParams(String algName, List<Integer> layers, int numSteps, int batchSize, double lr,
            Double weightDecay, double normConstraint, Integer maxNewTokens, Double temperature, Boolean staticTarget,
            Boolean sampleWithContext, String objective, Double earlyStopLoss, Long seed) {
        this(algName, layers, numSteps, batchSize, lr, weightDecay, normConstraint, maxNewTokens, temperature,
                staticTarget, sampleWithContext, null, null, null, null, null, objective, earlyStopLoss, seed, null,
                null, null, null, null, null, null);
    }

    /** {@code value}, or the first of {@code allowed} when absent; any other value fails naming the key. */
    private static String choice(String key, String value, String... allowed) {
        if (value == null) {
            return allowed[0];
        }
        if (!List.of(allowed).contains(value)) {
            throw new IceditException(key + " must be one of " + List.of(allowed) + ", got '" + value + "'");
        }
        return value;
    }

    /** The sampling of y for a model: top_k and top_p as set, else as the model's generation_config.json says. */
    public int topK(SamplingDefaults model) {
        return topK != null ? topK : model.topK();
    }

    public double topP(SamplingDefaults model) {
        return topP != null ? topP : model.topP();
    }

    /** Whether changes are projected onto the null space of the preserved keys ({@code null_space: true}). */
    public boolean usesNullSpace() {
        return Boolean.TRUE.equals(nullSpace);
    }

    /** The statistics of the null-space projection (null_space must be on). */
    public Mom2Settings mom2() {
        return new Mom2Settings(mom2Dataset, mom2NSamples, mom2Dtype, statsDir);
    }

    /** The same with the null-space projection on and its statistics (or off, with {@code on} false). */
    public TuningHyperParams withNullSpace(boolean on, Double threshold, Boolean editedKeys, String dataset,
            Integer nSamples, String dir) {
        return on ? new TuningHyperParams(algName, layers, numSteps, batchSize, lr, weightDecay, normConstraint,
                maxNewTokens, temperature, staticTarget, sampleWithContext, topK, topP, contextPhrases, defaultContext,
                targetMask, objective, earlyStopLoss, seed, true,
                threshold, editedKeys, dataset, nSamples, mom2Dtype, dir)
                : new TuningHyperParams(algName, layers, numSteps, batchSize, lr, weightDecay, normConstraint,
                        maxNewTokens, temperature, staticTarget, sampleWithContext, topK, topP, contextPhrases,
                        defaultContext, targetMask, objective, earlyStopLoss, seed, null, null, null, null, null, null,
                        null);
    }

    public TuningHyperParams withLayers(List<Integer> l) {
        return new TuningHyperParams(algName, l, numSteps, batchSize, lr, weightDecay, normConstraint, maxNewTokens,
                temperature, staticTarget, sampleWithContext, topK, topP, contextPhrases, defaultContext, targetMask,
                objective, earlyStopLoss, seed, nullSpace,
                nullspaceThreshold, nullSpaceEditedKeys, mom2Dataset, mom2NSamples, mom2Dtype, statsDir);
    }

    public TuningHyperParams withSeed(long s) {
        return new TuningHyperParams(algName, layers, numSteps, batchSize, lr, weightDecay, normConstraint,
                maxNewTokens, temperature, staticTarget, sampleWithContext, topK, topP, contextPhrases, defaultContext,
                targetMask, objective, earlyStopLoss, s, nullSpace,
                nullspaceThreshold, nullSpaceEditedKeys, mom2Dataset, mom2NSamples, mom2Dtype, statsDir);
    }

    public TuningHyperParams withNumSteps(int n) {
        return new TuningHyperParams(algName, layers, n, batchSize, lr, weightDecay, normConstraint, maxNewTokens,
                temperature, staticTarget, sampleWithContext, topK, topP, contextPhrases, defaultContext, targetMask,
                objective, earlyStopLoss, seed, nullSpace,
                nullspaceThreshold, nullSpaceEditedKeys, mom2Dataset, mom2NSamples, mom2Dtype, statsDir);
    }
}
