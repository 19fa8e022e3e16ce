package dev.icedit.edit;

import dev.icedit.edit.alphaedit.AlphaEditHyperParams;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.config.Gpt2Config;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which hyper-parameters a method uses on a model, and why. {@link #forModel} is the one place that decides "the
 * preset for this model": the shipped preset whose model has this model's shape, else one derived from the shape
 * by the rule below, written down in docs/PRESETS.md and checked by a test that re-derives every shipped preset
 * from its model's shape.
 *
 * <p>The rule. A model's shape is its family (GPT-2, or Llama-like: llama, mistral, qwen2, qwen3), its depth L, and
 * its MLP output projection of N = hidden x intermediate elements. The shipped presets are those of GPT-2 XL
 * (GPT-2, L 48, 1600 x 6400), Llama-2-7B (Llama, L 32, 4096 x 11008) and the default model (Llama, L 8, 512 x 1024).
 * <ol>
 *   <li>Critical layer l* = ceil(L * r) with r the relative depth where the released ROME configurations edit,
 *       from causal tracing: 17/48 for GPT-2 (layer 17 of GPT-2 XL), 5/32 for Llama-like models (layer 5 of
 *       Llama-2-7B; it gives layer 2 of 8 for the default model). ROME edits l*.
 *   <li>MEMIT edits min(5, ceil(L/3)) layers: for GPT-2 the window ending at l* (13-17 of 48, the MEMIT paper), for
 *       Llama-like models the window starting one below l* (4-8 of 32 as EasyEdit's llama-7b, 1-3 of 8).
 *       AlphaEdit edits MEMIT's layers (its released configurations do).
 *   <li>ICE, FT-M and FT-L train min(5, max(1, floor(L/2))) layers from MEMIT's first layer: the released ICE
 *       configurations use MEMIT's layers (13-17, 4-8), the default model its early middle 1-4.
 *   <li>ICE/FT clamp: norm_constraint = 5e-4 * max(1, sqrt(10.24M / N)), rounded to one significant digit, and
 *       lr = max(7e-4, norm_constraint). The released 5e-4 / 7e-4 serve GPT-2 XL (N = 10.24M) and Llama-2-7B (45M)
 *       alike; below 10.24M elements the clamp grows so that the largest change it allows, norm_constraint *
 *       sqrt(N) in Frobenius norm, stays what it is for GPT-2 XL (default model: 2.2e-3, so 2e-3), and the step is
 *       at least the clamp so that a step can reach it.
 *   <li>Every other key comes from a template: the shipped preset of the same family whose N is nearest on a log
 *       scale (GPT-2: gpt2-xl; Llama-like: default-model below sqrt(0.52M * 45M) = 4.9M elements, llama-2-7b
 *       above). ROME/MEMIT's v_loss_layer is the last layer when the template names it; MEMIT's
 *       mom2_update_weight scales with the key width I from the template's (it weighs C against k k^T, which grows
 *       with I), rounded to two significant digits.
 * </ol>
 * These are interpolations between three measured points, not measurements: {@code icedit tune} searches the
 * settings on the model itself.
 */
public final class Presets {
    /** Where a method's hyper-parameters came from. */
    public enum Source {
        /** the shipped preset for a model of this shape */
        SHIPPED,
        /** derived from the model's shape by the rule */
        DERIVED,
        /** a shipped preset named with --hparams */
        NAMED,
        /** a YAML file given with --hparams */
        FILE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The hyper-parameters a method will use, the preset's name, where it came from and why. */
    public record Choice(String method, String name, Source source, Object hyperParams, String reason) {
        /** One line: "NAME (SOURCE): REASON", or "derived: REASON". */
        public String summary() {
            return (name.equals(source.label()) ? name : name + " (" + source.label() + ")") + ": " + reason;
        }

        /** For reports: name, source and reason (the values themselves are reported as hyper_parameters). */
        public Map<String, Object> describe() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("source", source.label());
            m.put("reason", reason);
            return m;
        }
    }

    /** A shipped preset and the shape of the model it was made for. */
    record Reference(String name, boolean gpt2, int layers, int hidden, int intermediate) {
        long mlpElements() {
            return (long) hidden * intermediate;
        }

        String shape() {
            return (gpt2 ? "GPT-2" : "Llama-like") + ", " + layers + " layers, MLP output " + hidden + "x" + intermediate;
        }
    }

    static final List<Reference> REFERENCES = List.of(
            new Reference("default-model", false, 8, 512, 1024),
            new Reference("gpt2-xl", true, 48, 1600, 6400),
            new Reference("llama-2-7b", false, 32, 4096, 11008));

    /** The released ICE/FT clamp and step, and the smallest edited matrix they were set for (GPT-2 XL's). */
    static final double RELEASED_CLAMP = 5e-4;
    static final double RELEASED_LR = 7e-4;
    static final double RELEASED_MIN_ELEMENTS = 1600.0 * 6400.0;

    private Presets() {}

    /**
     * Resolves {@code --hparams}: null means {@link #forModel}; a path to a YAML file (or any name ending in .yaml
     * or .yml) is loaded; anything else names a shipped preset.
     */
    public static Choice resolve(String method, ModelConfig config, String hparams) {
        Editors.Method<?> m = Editors.method(method);
        if (hparams == null) {
            return forModel(m.name(), config);
        }
        if (hparams.endsWith(".yaml") || hparams.endsWith(".yml") || Files.exists(Path.of(hparams))) {
            return new Choice(m.name(), hparams, Source.FILE, HyperParams.load(Path.of(hparams), m.hparamsType()),
                    "given with --hparams");
        }
        Object hp = HyperParams.preset(m.name(), hparams, m.hparamsType());
        if (hp == null) {
            throw new IceditException("no preset '" + hparams + "' for " + m.name() + " (shipped: "
                    + String.join(", ", shippedNames(m.name())) + "; or give a YAML file)");
        }
        return new Choice(m.name(), hparams, Source.NAMED, hp, "named with --hparams");
    }

    /** The preset for this model: the shipped one made for its shape, else derived from the shape. */
    public static Choice forModel(String method, ModelConfig config) {
        Editors.Method<?> m = Editors.method(method);
        for (Reference r : REFERENCES) {
            if (matches(r, config)) {
                Object hp = HyperParams.preset(m.name(), r.name(), m.hparamsType());
                if (hp != null) {
                    return new Choice(m.name(), r.name(), Source.SHIPPED, hp, "made for this shape ("
                            + r.shape() + ")");
                }
            }
        }
        return derive(m, config);
    }

    /** The derived preset, even for a shape that has a shipped one (the test checks they agree). */
    static Choice derive(Editors.Method<?> m, ModelConfig config) {
        Shape s = Shape.of(config);
        Reference template = template(s);
        Object base = HyperParams.preset(m.name(), template.name(), m.hparamsType());
        if (base == null) {
            throw new IceditException("no shipped preset to derive " + m.name() + " settings from (the template "
                    + template.name() + " has none); give --hparams FILE");
        }
        Map<String, Object> changes = new LinkedHashMap<>();
        String why;
        if (base instanceof TuningHyperParams) {
            List<Integer> layers = window(s.trainedStart(), s.trainedCount(), s.layers);
            double clamp = clampFor(s.mlpElements());
            changes.put("layers", layers);
            changes.put("norm_constraint", clamp);
            changes.put("lr", Math.max(RELEASED_LR, clamp));
            why = layerWord(layers) + range(layers) + ", norm_constraint " + number(clamp) + ", lr "
                    + number(Math.max(RELEASED_LR, clamp));
        } else if (base instanceof RomeHyperParams rome) {
            changes.put("layers", List.of(s.criticalLayer()));
            changes.put("v_loss_layer", rome.vLossLayer() == null ? null : s.layers - 1);
            why = "layer " + s.criticalLayer();
        } else if (base instanceof MemitHyperParams memit) {
            List<Integer> layers = window(s.memitStart(), s.memitCount(), s.layers);
            double lambda = significant(memit.mom2UpdateWeight() * s.intermediate / template.intermediate(), 2);
            changes.put("layers", layers);
            changes.put("v_loss_layer", memit.vLossLayer() == null ? null : s.layers - 1);
            changes.put("mom2_update_weight", lambda);
            why = layerWord(layers) + range(layers) + ", mom2_update_weight " + number(lambda);
        } else if (base instanceof AlphaEditHyperParams alpha) {
            List<Integer> layers = window(s.memitStart(), s.memitCount(), s.layers);
            changes.put("layers", layers);
            changes.put("v_loss_layer", alpha.vLossLayer() == null ? null : s.layers - 1);
            why = layerWord(layers) + range(layers);
        } else {
            throw new IceditException("no rule derives " + m.name() + " settings from a model's shape; give --hparams"
                    + " FILE or a preset (shipped: " + String.join(", ", shippedNames(m.name())) + ")");
        }
        Object hp = HyperParams.with(base, changes);
        return new Choice(m.name(), "derived", Source.DERIVED, hp, "from the model's shape (" + s.describe()
                + "): " + why + "; other keys from " + template.name() + " (rule: docs/PRESETS.md)");
    }

    private static boolean matches(Reference r, ModelConfig c) {
        return (c instanceof Gpt2Config) == r.gpt2() && c.numLayers() == r.layers() && c.hiddenSize() == r.hidden()
                && c.intermediateSize() == r.intermediate();
    }

    /** The same-family shipped preset whose MLP output projection is nearest in size on a log scale. */
    static Reference template(Shape s) {
        Reference best = null;
        for (Reference r : REFERENCES) {
            if (r.gpt2() != s.gpt2) {
                continue;
            }
            if (best == null || Math.abs(Math.log((double) r.mlpElements() / s.mlpElements()))
                    < Math.abs(Math.log((double) best.mlpElements() / s.mlpElements()))) {
                best = r;
            }
        }
        return best;
    }

    /** The model-dependent part of the rule. */
    record Shape(boolean gpt2, int layers, int hidden, int intermediate) {
        static Shape of(ModelConfig c) {
            if (c.numLayers() < 1) {
                throw new IceditException("the model has no layers to edit");
            }
            return new Shape(c instanceof Gpt2Config, c.numLayers(), c.hiddenSize(), c.intermediateSize());
        }

        long mlpElements() {
            return (long) hidden * intermediate;
        }

        /** l* = ceil(L * 17/48) for GPT-2, ceil(L * 5/32) for Llama-like models, in integers. */
        int criticalLayer() {
            int num = gpt2 ? 17 : 5;
            int den = gpt2 ? 48 : 32;
            return Math.min(layers - 1, (layers * num + den - 1) / den);
        }

        int memitCount() {
            return Math.min(5, (layers + 2) / 3);
        }

        int memitStart() {
            return gpt2 ? criticalLayer() - memitCount() + 1 : criticalLayer() - 1;
        }

        int trainedCount() {
            return Math.min(5, Math.max(1, layers / 2));
        }

        int trainedStart() {
            return memitStart();
        }

        String describe() {
            return (gpt2 ? "GPT-2" : "Llama-like") + ", " + layers + " layers, MLP output " + hidden + "x" + intermediate;
        }
    }

    /** {@code count} consecutive layers from {@code start}, moved to fit in 0..layers-1. */
    static List<Integer> window(int start, int count, int layers) {
        int n = Math.min(count, layers);
        int from = Math.max(0, Math.min(start, layers - n));
        List<Integer> out = new ArrayList<>();
        for (int l = from; l < from + n; l++) {
            out.add(l);
        }
        return out;
    }

    /** Rule 4: the ICE/FT clamp for an MLP output projection of {@code elements} elements. */
    static double clampFor(long elements) {
        return significant(RELEASED_CLAMP * Math.max(1.0, Math.sqrt(RELEASED_MIN_ELEMENTS / elements)), 1);
    }

    /** {@code v} rounded to {@code digits} significant digits (half up). */
    public static double significant(double v, int digits) {
        return new BigDecimal(v).round(new MathContext(digits, RoundingMode.HALF_UP)).doubleValue();
    }

    /** "3-7" or "2" or "0, 2". */
    public static String range(List<Integer> layers) {
        boolean consecutive = true;
        for (int i = 1; i < layers.size(); i++) {
            consecutive &= layers.get(i) == layers.get(i - 1) + 1;
        }
        if (layers.size() > 1 && consecutive) {
            return layers.get(0) + "-" + layers.get(layers.size() - 1);
        }
        return String.join(", ", layers.stream().map(String::valueOf).toList());
    }

    private static String layerWord(List<Integer> layers) {
        return layers.size() == 1 ? "layer " : "layers ";
    }

    private static String number(double v) {
        BigDecimal d = BigDecimal.valueOf(v).stripTrailingZeros();
        return v >= 1 ? d.toPlainString() : d.toString().toLowerCase(Locale.ROOT);
    }

    /**
     * The shipped presets a method has (default-model, gpt2-xl, llama-2-7b, those that exist for it), each followed
     * by its NAME-released variant where there is one (ICE as the published code runs it).
     */
    public static List<String> shippedNames(String method) {
        List<String> out = new ArrayList<>();
        for (Reference r : REFERENCES) {
            for (String name : List.of(r.name(), r.name() + "-released")) {
                if (Presets.class.getResource("/hparams/" + method + "/" + name + ".yaml") != null) {
                    out.add(name);
                }
            }
        }
        return out;
    }
}
