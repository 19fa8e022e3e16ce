package dev.icedit.edit;

import dev.icedit.edit.alphaedit.AlphaEditHyperParams;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The few settings of a method that decide whether its edits take, as {@code icedit tune} varies them: the clamp
 * (ICE/FT: norm_constraint, the bound on each weight's change, with lr moving in proportion; ROME/MEMIT:
 * clamp_norm_factor, the bound on the value vector's change), the edited layers, the step size, and for ROME,
 * MEMIT and AlphaEdit the v-optimisation steps, the KL factor and MEMIT's mom2_update_weight. A tuner measures;
 * this class only says which keys mean what.
 */
public final class Tunable {
    private final String method;
    private final Object start;
    private final String clampKey;
    /** ICE/FT: lr moves with the clamp (their ratio kept), since with Adam a step moves each weight by about lr. */
    private final boolean lrFollowsClamp;

    private Tunable(String method, Object start, String clampKey, boolean lrFollowsClamp) {
        this.method = method;
        this.start = start;
        this.clampKey = clampKey;
        this.lrFollowsClamp = lrFollowsClamp;
    }

    /** The settings of {@code start} (a method's hyper-parameter record) a tuner varies. */
    public static Tunable of(String method, Object start) {
        if (start instanceof TuningHyperParams) {
            return new Tunable(method, start, "norm_constraint", true);
        }
        if (start instanceof RomeHyperParams || start instanceof MemitHyperParams
                || start instanceof AlphaEditHyperParams) {
            return new Tunable(method, start, "clamp_norm_factor", false);
        }
        throw new IceditException(method + " has no settings icedit tune knows how to search");
    }

    /** The YAML key of the clamp: norm_constraint or clamp_norm_factor. */
    public String clampKey() {
        return clampKey;
    }

    public double clamp(Object hp) {
        return ((Number) HyperParams.asMap(hp).get(clampKey)).doubleValue();
    }

    @SuppressWarnings("unchecked")
    public List<Integer> layers(Object hp) {
        return (List<Integer>) HyperParams.asMap(hp).get("layers");
    }

    /** The step size's key: lr (ICE/FT) or v_lr (ROME/MEMIT). */
    public String lrKey() {
        return clampKey.equals("norm_constraint") ? "lr" : "v_lr";
    }

    public double lr(Object hp) {
        return ((Number) HyperParams.asMap(hp).get(lrKey())).doubleValue();
    }

    /** {@code hp} with another clamp; for ICE/FT the lr keeps its ratio to the clamp. */
    public Object withClamp(Object hp, double clamp) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put(clampKey, clamp);
        if (lrFollowsClamp) {
            c.put("lr", Presets.significant(clamp * lr(hp) / clamp(hp), 2));
        }
        return HyperParams.with(hp, c);
    }

    public Object withLayers(Object hp, List<Integer> layers) {
        return HyperParams.with(hp, Map.of("layers", layers));
    }

    /** {@code hp} with its step size multiplied by {@code factor}. */
    public Object withLrTimes(Object hp, double factor) {
        return HyperParams.with(hp, Map.of(lrKey(), Presets.significant(lr(hp) * factor, 2)));
    }

    /**
     * Windows of the same size as {@code hp}'s layers, moved earlier and later by half their size (at least one
     * layer), that fit in a model of {@code numLayers} layers.
     */
    public List<List<Integer>> otherWindows(Object hp, int numLayers) {
        List<Integer> layers = layers(hp);
        int n = layers.size();
        int first = layers.get(0);
        int shift = Math.max(1, (n + 1) / 2);
        List<List<Integer>> out = new ArrayList<>();
        for (int start : new int[] {first - shift, first + shift}) {
            List<Integer> w = Presets.window(start, n, numLayers);
            if (!w.equals(layers) && !out.contains(w)) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Variants that work harder at reaching the target when no clamp is enough: ROME and MEMIT twice the
     * v-optimisation steps (and MEMIT a quarter of mom2_update_weight, which weighs the old keys against the new);
     * ICE and FT twice the learning rate.
     */
    public List<Variant> effortVariants(Object hp) {
        Map<String, Object> m = HyperParams.asMap(hp);
        List<Variant> out = new ArrayList<>();
        if (lrFollowsClamp) {
            out.add(new Variant("lr x2", withLrTimes(hp, 2)));
            return out;
        }
        int steps = ((Number) m.get("v_num_grad_steps")).intValue();
        out.add(new Variant("v_num_grad_steps x2", HyperParams.with(hp, Map.of("v_num_grad_steps", steps * 2))));
        if (m.containsKey("mom2_update_weight")) {
            double w = ((Number) m.get("mom2_update_weight")).doubleValue();
            out.add(new Variant("mom2_update_weight /4", HyperParams.with(hp, Map.of("mom2_update_weight", w / 4))));
        }
        return out;
    }

    /** For ROME and MEMIT a variant that holds the rest of the model more firmly (kl_factor x4); none for ICE/FT. */
    public List<Variant> localityVariants(Object hp) {
        Map<String, Object> m = HyperParams.asMap(hp);
        if (!m.containsKey("kl_factor")) {
            return List.of();
        }
        double kl = ((Number) m.get("kl_factor")).doubleValue();
        return List.of(new Variant("kl_factor x4", HyperParams.with(hp, Map.of("kl_factor", kl * 4))));
    }

    /** A changed setting and the hyper-parameters with it. */
    public record Variant(String change, Object hparams) {}

    /** The values a candidate table shows for {@code hp}: layers, lr, clamp and for ROME/MEMIT the other knobs. */
    public Map<String, Object> describe(Object hp) {
        Map<String, Object> m = HyperParams.asMap(hp);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("layers", Presets.range(layers(hp)));
        out.put(lrKey(), m.get(lrKey()));
        out.put(clampKey, m.get(clampKey));
        for (String k : List.of("v_num_grad_steps", "kl_factor", "mom2_update_weight")) {
            if (m.containsKey(k)) {
                out.put(k, m.get(k));
            }
        }
        return out;
    }

    public String method() {
        return method;
    }

    public Object start() {
        return start;
    }
}
