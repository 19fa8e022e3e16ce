package dev.icedit.edit.memit;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.icedit.edit.locate.ContextTemplates;
import dev.icedit.edit.locate.FactToken;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * MEMIT's hyper-parameters, named as the released configurations (kmeng01/memit, EasyEdit) name them; see
 * {@link dev.icedit.edit.rome.RomeHyperParams} for the keys the two share. MEMIT always uses the statistics, so it
 * has no mom2_adjustment; {@code mom2_update_weight} is the weight lambda of C against the new keys.
 *
 * @param layers the layers whose MLP output projections share the update; the target vectors are computed at the
 *     last of them
 * @param contextTemplateLengthParams [length, count] pairs of generated context prefixes (default [[10,5]], as the
 *     released code has them)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record MemitHyperParams(
        @JsonProperty(value = "alg_name", required = true) String algName,
        @JsonProperty(value = "layers", required = true) List<Integer> layers,
        @JsonProperty("fact_token") String factToken,
        @JsonProperty(value = "v_num_grad_steps", required = true) int vNumGradSteps,
        @JsonProperty(value = "v_lr", required = true) double vLr,
        @JsonProperty("v_loss_layer") Integer vLossLayer,
        @JsonProperty(value = "v_weight_decay", required = true) double vWeightDecay,
        @JsonProperty(value = "clamp_norm_factor", required = true) double clampNormFactor,
        @JsonProperty(value = "kl_factor", required = true) double klFactor,
        @JsonProperty(value = "mom2_update_weight", required = true) double mom2UpdateWeight,
        @JsonProperty("context_template_length_params") List<List<Integer>> contextTemplateLengthParams,
        @JsonProperty(value = "mom2_dataset", required = true) String mom2Dataset,
        @JsonProperty(value = "mom2_n_samples", required = true) int mom2NSamples,
        @JsonProperty("mom2_dtype") String mom2Dtype,
        @JsonProperty("stats_dir") String statsDir,
        @JsonProperty("seed") Long seed) {

    public static final List<List<Integer>> DEFAULT_CONTEXT_TEMPLATES = List.of(List.of(10, 5));

    public MemitHyperParams {
        if (!"MEMIT".equals(algName)) {
            throw new IceditException("alg_name must be MEMIT for these hyper-parameters, got '" + algName + "'");
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
        if (!(mom2UpdateWeight > 0) || Double.isInfinite(mom2UpdateWeight)) {
            throw new IceditException("mom2_update_weight must be a positive number, got " + mom2UpdateWeight);
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

    /** The settings of MEMIT's pipeline. */
    public Memit.Plan plan() {
        return new Memit.Plan(Memit.NAME, layers, valueSettings(), vLossLayer, contextTemplateLengthParams, seed, mom2(),
                false);
    }

    public MemitHyperParams withSeed(long s) {
        return new MemitHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, mom2UpdateWeight, contextTemplateLengthParams, mom2Dataset, mom2NSamples,
                mom2Dtype, statsDir, s);
    }

    /** The same with other statistics settings (mom2_dataset, mom2_n_samples, stats_dir). */
    public MemitHyperParams withStatistics(String dataset, int nSamples, String dir) {
        return new MemitHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, mom2UpdateWeight, contextTemplateLengthParams, dataset, nSamples,
                mom2Dtype, dir, seed);
    }
}
