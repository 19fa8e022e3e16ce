package dev.icedit.edit.alphaedit;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.icedit.edit.locate.ContextTemplates;
import dev.icedit.edit.locate.FactToken;
import dev.icedit.edit.locate.Mom2Settings;
import dev.icedit.edit.locate.TargetOptimizer;
import dev.icedit.edit.memit.Memit;
import dev.icedit.tensor.IceditException;
import java.util.List;

/**
 * AlphaEdit's hyper-parameters, named as its released configurations (jianghoucheng/AlphaEdit
 * {@code hparams/AlphaEdit/*.json}, EasyEdit {@code hparams/AlphaEdit/*.yaml}) name them. The keys shared with MEMIT
 * mean what they mean there ({@link dev.icedit.edit.memit.MemitHyperParams}); AlphaEdit adds two:
 *
 * @param nullspaceThreshold {@code nullspace_threshold}: eigenvalues of the key statistics C below it span the null
 *     space the update is projected onto (released: 2e-2)
 * @param l2 {@code L2}: the weight alpha of |dW P|^2 in the update's objective (released: 10)
 *
 * <p>The released files also carry {@code mom2_adjustment} and {@code mom2_update_weight}, which AlphaEdit's update
 * never reads (it regularises with L2 instead of MEMIT's lambda C); they are not accepted here, so that no file
 * seems to set something it does not.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record AlphaEditHyperParams(
        @JsonProperty(value = "alg_name", required = true) String algName,
        @JsonProperty(value = "layers", required = true) List<Integer> layers,
        @JsonProperty("fact_token") String factToken,
        @JsonProperty(value = "v_num_grad_steps", required = true) int vNumGradSteps,
        @JsonProperty(value = "v_lr", required = true) double vLr,
        @JsonProperty("v_loss_layer") Integer vLossLayer,
        @JsonProperty(value = "v_weight_decay", required = true) double vWeightDecay,
        @JsonProperty(value = "clamp_norm_factor", required = true) double clampNormFactor,
        @JsonProperty(value = "kl_factor", required = true) double klFactor,
        @JsonProperty(value = "nullspace_threshold", required = true) double nullspaceThreshold,
        @JsonProperty(value = "L2", required = true) double l2,
        @JsonProperty("context_template_length_params") List<List<Integer>> contextTemplateLengthParams,
        @JsonProperty(value = "mom2_dataset", required = true) String mom2Dataset,
        @JsonProperty(value = "mom2_n_samples", required = true) int mom2NSamples,
        @JsonProperty("mom2_dtype") String mom2Dtype,
        @JsonProperty("stats_dir") String statsDir,
        @JsonProperty("seed") Long seed) {

    /** As AlphaEdit's released get_context_templates has them. */
    public static final List<List<Integer>> DEFAULT_CONTEXT_TEMPLATES = List.of(List.of(10, 5));

    public AlphaEditHyperParams {
        if (!AlphaEdit.NAME.equals(algName)) {
            throw new IceditException("alg_name must be AlphaEdit for these hyper-parameters, got '" + algName + "'");
        }
        if (layers == null || layers.isEmpty()) {
            throw new IceditException("layers must list at least one layer");
        }
        layers = layers.stream().distinct().sorted().toList();
        factToken = factToken == null ? FactToken.SUBJECT_LAST.key() : factToken;
        new TargetOptimizer.Settings(vNumGradSteps, vLr, vWeightDecay, clampNormFactor, klFactor,
                FactToken.parse(factToken)); // validates
        if (!(nullspaceThreshold > 0) || Double.isInfinite(nullspaceThreshold)) {
            throw new IceditException("nullspace_threshold must be a positive number, got " + nullspaceThreshold);
        }
        if (!(l2 > 0) || Double.isInfinite(l2)) {
            throw new IceditException("L2 must be a positive number, got " + l2);
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

    /** MEMIT's pipeline with these settings; the keys are read again after the edit, for the next one. */
    public Memit.Plan plan() {
        return new Memit.Plan(AlphaEdit.NAME, layers, valueSettings(), vLossLayer, contextTemplateLengthParams, seed,
                mom2(), true);
    }

    public AlphaEditHyperParams withSeed(long s) {
        return new AlphaEditHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, nullspaceThreshold, l2, contextTemplateLengthParams, mom2Dataset,
                mom2NSamples, mom2Dtype, statsDir, s);
    }

    /** The same with another threshold and L2 (for sweeps). */
    public AlphaEditHyperParams withNullSpace(double threshold, double alpha) {
        return new AlphaEditHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, threshold, alpha, contextTemplateLengthParams, mom2Dataset, mom2NSamples,
                mom2Dtype, statsDir, seed);
    }

    /** The same with other statistics settings (mom2_dataset, mom2_n_samples, stats_dir). */
    public AlphaEditHyperParams withStatistics(String dataset, int nSamples, String dir) {
        return new AlphaEditHyperParams(algName, layers, factToken, vNumGradSteps, vLr, vLossLayer, vWeightDecay,
                clampNormFactor, klFactor, nullspaceThreshold, l2, contextTemplateLengthParams, dataset, nSamples,
                mom2Dtype, dir, seed);
    }
}
