package dev.icedit.edit.rome;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.icedit.edit.locate.ContextTemplates;
import dev.icedit.edit.locate.FactToken;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * ROME's hyper-parameters, named as the released configurations (kmeng01/rome, EasyEdit) name them. Keys of the
 * reference files that name Python modules (rewrite_module_tmp, ...) or devices have no place here: icedit finds
 * the weights from the model's config.
 *
 * @param layers the layers whose MLP output projection is rewritten (usually one), in ascending order
 * @param factToken where the key is read: subject_last (default) or subject_first
 * @param vNumGradSteps Adam steps of the value optimisation
 * @param vLr its learning rate
 * @param vLossLayer the layer whose output is scored; icedit scores the model's output, so it must be the last
 *     layer (as in every released configuration); null means the last layer
 * @param vWeightDecay weight of |delta| / |h_0|^2 in the loss
 * @param clampNormFactor delta stays within clamp_norm_factor * |h_0|
 * @param klFactor weight of the KL term on "{subject} is a"
 * @param mom2Adjustment whether the update direction is C^-1 k* (the paper) rather than k*
 * @param contextTemplateLengthParams [length, count] pairs of generated context prefixes (default [[5,10],[10,10]])
 * @param mom2Dataset text file or folder for the statistics
 * @param mom2NSamples windows of text the statistics are computed from
 * @param mom2Dtype float32 (default) or float64
 * @param statsDir cache folder of the statistics (default: see {@link Mom2Settings#cacheDir()})
 * @param seed seed of the context prefixes' sampling
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record RomeHyperParams(
        @JsonProperty(value = "alg_name", required = true) String algName,
        @JsonProperty(value = "layers", required = true) List<Integer> layers,
        @JsonProperty("fact_token") String factToken,
        @JsonProperty(value = "v_num_grad_steps", required = true) int vNumGradSteps,
        @JsonProperty(value = "v_lr", required = true) double vLr,
        @JsonProperty("v_loss_layer") Integer vLossLayer,
        @JsonProperty(value = "v_weight_decay", required = true) double vWeightDecay,
        @JsonProperty(value = "clamp_norm_factor", required = true) double clampNormFactor,
        @JsonProperty(value = "kl_factor", required = true) double klFactor,
        @JsonProperty(value = "mom2_adjustment", required = true) boolean mom2Adjustment,
        @JsonProperty("context_template_length_params") List<List<Integer>> contextTemplateLengthParams,
        @JsonProperty(value = "mom2_dataset", required = true) String mom2Dataset,
        @JsonProperty(value = "mom2_n_samples", required = true) int mom2NSamples,
        @JsonProperty("mom2_dtype") String mom2Dtype,
        @JsonProperty("stats_dir") String statsDir,
        @JsonProperty("seed") Long seed) {

    public static final List<List<Integer>> DEFAULT_CONTEXT_TEMPLATES = List.of(List.of(5, 10), List.of(10, 10));

    public RomeHyperParams {
        if (!"ROME".equals(algName)) {
            throw new IceditException("alg_name must be ROME for these hyper-parameters, got '" + algName + "'");
        }
        if (layers == null || layers.isEmpty()) {
            throw new IceditException("layers must list at least one layer");
        }
        layers = layers.stream().distinct().sorted().toList();
        factToken = factToken == null ? FactToken.SUBJECT_LAST.key() : factToken;
        FactToken.parse(factToken);
        if (vNumGradSteps < 1) {
            throw new IceditException("v_num_grad_steps must be >= 1, got " + vNumGradSteps);
        }
        if (!(vLr > 0) || Double.isInfinite(vLr)) {
            throw new IceditException("v_lr must be a positive number, got " + vLr);
        }
        if (!(vWeightDecay >= 0) || !(klFactor >= 0)) {
            throw new IceditException("v_weight_decay and kl_factor must be >= 0");
        }
        if (!(clampNormFactor > 0)) {
            throw new IceditException("clamp_norm_factor must be positive, got " + clampNormFactor);
        }
        contextTemplateLengthParams = contextTemplateLengthParams == null ? DEFAULT_CONTEXT_TEMPLATES
                : ContextTemplates.check(contextTemplateLengthParams);
        mom2Dtype = mom2Dtype == null ? "float32" : mom2Dtype;
        seed = seed == null ? 0L : seed;
        new Mom2Settings(mom2Dataset, mom2NSamples, mom2Dtype, statsDir); // validates
    }

    public Mom2Settings mom2() {
        return new Mom2Settings(mom2Dataset, mom2NSamples, mom2Dtype, statsDir);
    }

    public TargetOptimizer.Settings valueSettings() {
        return new TargetOptimizer.Settings(vNumGradSteps, vLr, vWeightDecay, clampNormFactor, klFactor,
                FactToken.parse(factToken));
    }

    public RomeHyperParams withSeed(long s) {
        return new RomeHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, mom2Adjustment, contextTemplateLengthParams, mom2Dataset, mom2NSamples,
                mom2Dtype, statsDir, s);
    }

    /** The same with other statistics settings (mom2_dataset, mom2_n_samples, stats_dir). */
    public RomeHyperParams withStatistics(String dataset, int nSamples, String dir) {
        return new RomeHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, mom2Adjustment, contextTemplateLengthParams, dataset, nSamples,
                mom2Dtype, dir, seed);
    }
}
