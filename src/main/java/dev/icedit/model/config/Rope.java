package dev.icedit.model.config;

import dev.icedit.tensor.IceditException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rotary position embedding settings and their inverse frequencies, as transformers' modeling_rope_utils computes
 * them (types default, linear, dynamic, yarn and llama3). The settings come from {@code rope_parameters}
 * (transformers 5) or, in older files, {@code rope_scaling} with a top-level {@code rope_theta}; like transformers,
 * a non-empty {@code rope_scaling} wins and the parameters' own {@code rope_theta} wins over the top-level one.
 *
 * <p>The arithmetic follows transformers' float32 tensor operations step by step, so the frequencies agree to the
 * last bit or two. Dynamic NTK depends on the sequence length: {@link #inverseFrequencies} takes the length of the
 * forward call (the largest position id plus one, over the whole batch, as transformers does). transformers'
 * rotary module also remembers the longest length it has seen and keeps using its frequencies for shorter calls
 * down to max_position_embeddings; icedit computes each call from its own length, which is what a freshly loaded
 * transformers model gives, and what one generate() gives step by step.
 *
 * @param type default, linear, dynamic, yarn or llama3
 * @param factor the scaling factor (1 for default)
 * @param maxPositions config.json's max_position_embeddings (dynamic scales beyond it)
 * @param originalMaxPositions original_max_position_embeddings (llama3, yarn)
 * @param lowFreqFactor llama3's low_freq_factor
 * @param highFreqFactor llama3's high_freq_factor
 * @param attentionFactor yarn's attention_factor as given (null: computed from the factor and mscale values)
 * @param betaFast yarn's beta_fast (default 32)
 * @param betaSlow yarn's beta_slow (default 1)
 * @param mscale yarn's mscale (may be null)
 * @param mscaleAllDim yarn's mscale_all_dim (may be null)
 * @param truncate yarn's truncate (default true)
 */
public record Rope(String type, double theta, double factor, int maxPositions, int originalMaxPositions,
        double lowFreqFactor, double highFreqFactor, Double attentionFactor, double betaFast, double betaSlow,
        Double mscale, Double mscaleAllDim, boolean truncate) {

    public static final List<String> SUPPORTED = List.of("default", "linear", "dynamic", "yarn", "llama3");

    static Rope read(ConfigJson c, int maxPositions) {
        ConfigJson scaling = c.object("rope_scaling");
        ConfigJson params = c.object("rope_parameters");
        ConfigJson spec = scaling != null && !scaling.root.isEmpty() ? scaling : params;
        String where = spec == scaling ? "rope_scaling" : "rope_parameters";
        double theta = c.positiveOr("rope_theta", 10000.0);
        double partial = c.positiveOr("partial_rotary_factor", 1.0);
        if (spec != null) {
            partial = spec.positiveOr("partial_rotary_factor", partial);
        }
        if (partial != 1.0) {
            throw IceditException.inFile(c.file, "partial_rotary_factor " + partial + " is not supported: this"
                    + " architecture rotates the whole head");
        }
        if (spec == null) {
            return new Rope("default", theta, 1, maxPositions, maxPositions, 1, 4, null, 32, 1, null, null, true);
        }
        theta = spec.positiveOr("rope_theta", theta);
        String type = spec.stringOr("rope_type", spec.stringOr("type", "default"));
        if (!SUPPORTED.contains(type)) {
            throw IceditException.inFile(c.file, where + ": unsupported rope type '" + type + "' (supported: "
                    + String.join(", ", SUPPORTED) + ")");
        }
        Required k = new Required(c, spec, where, type);
        // llama3 and yarn read original_max_position_embeddings; a top-level key of that name overrides theirs
        int original = c.has("original_max_position_embeddings") ? c.requireSize("original_max_position_embeddings")
                : spec.sizeOr("original_max_position_embeddings", maxPositions);
        double factor = type.equals("default") ? 1.0 : k.positive("factor");
        double low = type.equals("llama3") ? k.positive("low_freq_factor") : 1.0;
        double high = type.equals("llama3") ? k.positive("high_freq_factor") : 4.0;
        if (type.equals("llama3") && !(high > low)) {
            throw IceditException.inFile(c.file, where + ": high_freq_factor " + high
                    + " must be greater than low_freq_factor " + low);
        }
        Double attention = spec.has("attention_factor") ? spec.positiveOr("attention_factor", 1.0) : null;
        // transformers reads these with `or`, so 0 means the default too
        double betaFast = spec.doubleOr("beta_fast", 0) == 0 ? 32 : spec.doubleOr("beta_fast", 0);
        double betaSlow = spec.doubleOr("beta_slow", 0) == 0 ? 1 : spec.doubleOr("beta_slow", 0);
        Double mscale = spec.has("mscale") ? spec.doubleOr("mscale", 0) : null;
        Double mscaleAllDim = spec.has("mscale_all_dim") ? spec.doubleOr("mscale_all_dim", 0) : null;
        boolean truncate = spec.boolOr("truncate", true);
        return new Rope(type, theta, factor, maxPositions, original, low, high, attention, betaFast, betaSlow, mscale,
                mscaleAllDim, truncate);
    }

    /** A key the rope type needs: absent is an error naming the type, present it is read with the usual checks. */
    private record Required(ConfigJson c, ConfigJson spec, String where, String type) {
        double positive(String key) {
            if (!spec.has(key)) {
                throw IceditException.inFile(c.file, where + " of type '" + type + "' lacks '" + key + "'");
            }
            return spec.positiveOr(key, 1.0);
        }
    }

    /** Whether the frequencies depend on the sequence length (dynamic NTK). */
    public boolean dependsOnLength() {
        return type.equals("dynamic");
    }

    /**
     * The longest sequence the settings are meant for: max_position_embeddings, or for dynamic NTK that times the
     * factor (dynamic scaling exists to run beyond max_position_embeddings; transformers sets no limit).
     */
    public int contextWindow() {
        return type.equals("dynamic") ? (int) Math.floor(maxPositions * Math.max(1.0, factor)) : maxPositions;
    }

    /** The factor transformers multiplies cos and sin by: yarn's attention factor, else 1. */
    public float attentionScaling() {
        if (!type.equals("yarn")) {
            return 1f;
        }
        if (attentionFactor != null) {
            return (float) (double) attentionFactor;
        }
        if (mscale != null && mscaleAllDim != null && mscale != 0 && mscaleAllDim != 0) {
            return (float) (yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim));
        }
        return (float) yarnMscale(factor, 1);
    }

    private static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /**
     * The dim/2 inverse frequencies for a forward call over {@code seqLen} positions (only dynamic NTK looks at it),
     * in float32 as transformers computes them.
     */
    public float[] inverseFrequencies(int dim, int seqLen) {
        switch (type) {
            case "linear": {
                float[] inv = base(theta, dim);
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = inv[i] / (float) factor;
                }
                return inv;
            }
            case "dynamic": {
                if (seqLen <= maxPositions) {
                    return base(theta, dim); // transformers keeps the original frequencies up to max_position_embeddings
                }
                // base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2)), on float32 tensors
                float ratio = (float) factor * (float) seqLen / (float) maxPositions - (float) (factor - 1);
                float scaled = (float) theta * (float) Math.pow(ratio, (float) ((double) dim / (dim - 2)));
                return base(scaled, dim);
            }
            case "yarn":
                return yarn(dim);
            case "llama3":
                return llama3(dim);
            default:
                return base(theta, dim);
        }
    }

    /** 1 / base ** (arange(0, dim, 2) / dim). */
    private static float[] base(double base, int dim) {
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            inv[i] = 1f / (float) Math.pow((float) base, exponent);
        }
        return inv;
    }

    private float[] llama3(int dim) {
        float[] inv = base(theta, dim);
        float lowWavelen = (float) (originalMaxPositions / lowFreqFactor);
        float highWavelen = (float) (originalMaxPositions / highFreqFactor);
        float f = (float) factor;
        for (int i = 0; i < inv.length; i++) {
            // scalar / tensor is reciprocal(tensor) * scalar in torch: two roundings
            float wavelen = (1f / inv[i]) * (float) (2 * Math.PI);
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / f; // low frequencies: scaled
            } else if (!(wavelen < highWavelen)) {
                // medium: smooth between scaled and unscaled
                float smooth = ((1f / wavelen) * (float) originalMaxPositions - (float) lowFreqFactor)
                        / (float) (highFreqFactor - lowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / f + smooth * inv[i];
            } // high frequencies: unchanged
        }
        return inv;
    }

    private float[] yarn(int dim) {
        int half = dim / 2;
        float[] inv = new float[half];
        // the dimension range where the ramp from extrapolation to interpolation lies, in double as in Python
        double low = correctionDim(betaFast, dim);
        double high = correctionDim(betaSlow, dim);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float lowF = (float) low;
        float span = (float) (high - low);
        for (int i = 0; i < half; i++) {
            float posFreq = (float) Math.pow((float) theta, (float) (2 * i) / (float) dim);
            float extrapolation = 1f / posFreq;
            float interpolation = 1f / ((float) factor * posFreq);
            float ramp = Math.min(1f, Math.max(0f, ((float) i - lowF) / span));
            float extrapolationFactor = 1f - ramp;
            inv[i] = interpolation * (1f - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return inv;
    }

    private double correctionDim(double rotations, int dim) {
        return (dim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
    }

    /** What {@code icedit inspect} shows: the type and the parameters that type reads. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.put("theta", theta);
        if (!type.equals("default")) {
            m.put("factor", factor);
        }
        switch (type) {
            case "llama3" -> {
                m.put("low_freq_factor", lowFreqFactor);
                m.put("high_freq_factor", highFreqFactor);
                m.put("original_max_position_embeddings", originalMaxPositions);
            }
            case "yarn" -> {
                m.put("original_max_position_embeddings", originalMaxPositions);
                m.put("attention_scaling", attentionScaling());
            }
            case "dynamic" -> m.put("scales_beyond", maxPositions);
            default -> { }
        }
        return m;
    }
}
