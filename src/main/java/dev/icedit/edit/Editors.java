package dev.icedit.edit;

import dev.icedit.edit.alphaedit.AlphaEdit;
import dev.icedit.edit.alphaedit.AlphaEditHyperParams;
import dev.icedit.edit.ft.FtlObjective;
import dev.icedit.edit.ft.FtmObjective;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.memit.Memit;
import dev.icedit.edit.memit.MemitHyperParams;
import dev.icedit.edit.rome.Rome;
import dev.icedit.edit.rome.RomeHyperParams;
import dev.icedit.edit.tuning.ConstrainedTuner;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The editing methods by name, each with its hyper-parameter type and shipped presets
 * ({@code hparams/METHOD/PRESET.yaml}: default-model, gpt2-xl, llama-2-7b); {@link Presets} picks or derives the
 * preset for a model.
 */
public final class Editors {
    /** How to make one method's editor from its hyper-parameter record. */
    public record Method<H>(String name, Class<H> hparamsType, Function<H, Editor> factory,
            BiFunction<H, Long, H> withSeed, String description) {
        public Editor create(Object hp) {
            return factory.apply(hparamsType.cast(hp));
        }

        /** The same hyper-parameters with another seed (methods without randomness return them unchanged). */
        public Object reseed(Object hp, long seed) {
            return withSeed.apply(hparamsType.cast(hp), seed);
        }
    }

    private static final Map<String, Method<?>> METHODS = new LinkedHashMap<>();

    static {
        register(new Method<>("ICE", TuningHyperParams.class,
                hp -> new ConstrainedTuner("ICE", checkObjective(hp, TuningHyperParams.ICE), () -> new IceObjective(hp)),
                TuningHyperParams::withSeed, "In-Context Editing: learn the in-context distribution (Qi et al., ICLR 2025)"));
        register(new Method<>("FT-M", TuningHyperParams.class,
                hp -> new ConstrainedTuner("FT-M", checkObjective(hp, TuningHyperParams.FT_M),
                        () -> new FtmObjective(firstLayer(hp))),
                TuningHyperParams::withSeed, "fine-tuning on the target, teacher forced and masked to its tokens"));
        register(new Method<>("FT-L", TuningHyperParams.class,
                hp -> new ConstrainedTuner("FT-L", checkObjective(hp, TuningHyperParams.FT_L),
                        () -> new FtlObjective(firstLayer(hp))),
                TuningHyperParams::withSeed, "fine-tuning with every target token scored at the last prompt position"));
        register(new Method<>("ROME", RomeHyperParams.class, Rome::new, RomeHyperParams::withSeed,
                "rank-one model editing of one MLP layer at the subject's token (Meng et al., NeurIPS 2022)"));
        register(new Method<>("MEMIT", MemitHyperParams.class, Memit::new, MemitHyperParams::withSeed,
                "mass editing: many facts at once, spread over several MLP layers (Meng et al., ICLR 2023)"));
        register(new Method<>(AlphaEdit.NAME, AlphaEditHyperParams.class, AlphaEdit::new,
                AlphaEditHyperParams::withSeed, "MEMIT projected onto the null space of preserved keys, for long edit"
                        + " sequences (Fang et al., ICLR 2025)"));
    }

    private Editors() {}

    /** Adds a method; the name is matched without regard to case. */
    public static synchronized void register(Method<?> method) {
        METHODS.put(method.name().toUpperCase(Locale.ROOT), method);
    }

    public static synchronized List<String> names() {
        List<String> out = new ArrayList<>();
        METHODS.values().forEach(m -> out.add(m.name()));
        return out;
    }

    public static synchronized Method<?> method(String name) {
        Method<?> m = name == null ? null : METHODS.get(name.toUpperCase(Locale.ROOT));
        if (m == null) {
            throw new IceditException("unknown method '" + name + "' (known: " + String.join(", ", names()) + ")");
        }
        return m;
    }

    /**
     * Makes an editor. {@code hparams} is a YAML file or a preset name; when null, the preset for the model
     * ({@link Presets#forModel}).
     */
    public static Editor create(String methodName, ModelConfig config, String hparams) {
        return method(methodName).create(loadHyperParams(methodName, config, hparams));
    }

    /** The hyper-parameters {@link Presets#resolve} chooses. */
    public static Object loadHyperParams(String methodName, ModelConfig config, String hparams) {
        return Presets.resolve(methodName, config, hparams).hyperParams();
    }

    /** The lowest layer whose MLP output projection the run trains. */
    private static int firstLayer(TuningHyperParams hp) {
        return hp.layers().stream().mapToInt(Integer::intValue).min().orElse(0);
    }

    private static TuningHyperParams checkObjective(TuningHyperParams hp, String expected) {
        if (!hp.objective().equals(expected)) {
            throw new IceditException("hyper-parameters have objective '" + hp.objective() + "' but this method needs '"
                    + expected + "'");
        }
        return hp;
    }
}
