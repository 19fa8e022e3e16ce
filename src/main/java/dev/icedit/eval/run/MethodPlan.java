package dev.icedit.eval.run;

import dev.icedit.edit.Editor;
import dev.icedit.edit.Editors;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.Presets;
import dev.icedit.eval.data.EvalCase;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a method name means to the evaluation: an editing method from the registry, or one of two baselines that
 * change no weight. NONE measures the unedited model (the floor). IN-CONTEXT puts the new fact in front of every
 * prompt it measures, {@code "Fact: PROMPT TARGET. Now: "}, or with the case's context sentences
 * {@code "Fact: SENTENCES Now: "}: the distribution ICE tries to internalise, ICE's context with the phrase "Fact: ".
 */
public final class MethodPlan {
    public static final String NONE = "NONE";
    public static final String IN_CONTEXT = "IN-CONTEXT";

    private final String name;
    private final Editor editor;
    private final Map<String, Object> hyperParameters;
    private final Presets.Choice preset;

    private MethodPlan(String name, Editor editor, Map<String, Object> hyperParameters, Presets.Choice preset) {
        this.name = name;
        this.editor = editor;
        this.hyperParameters = hyperParameters;
        this.preset = preset;
    }

    /** Every name the evaluation accepts: the registered editing methods, then NONE and IN-CONTEXT. */
    public static List<String> names() {
        List<String> out = new ArrayList<>(Editors.names());
        out.add(NONE);
        out.add(IN_CONTEXT);
        return out;
    }

    public static MethodPlan resolve(String method, String hparams, Long seed, ModelConfig config) {
        String upper = method.toUpperCase(Locale.ROOT);
        if (upper.equals(NONE) || upper.equals(IN_CONTEXT)) {
            return new MethodPlan(upper, null, null, null);
        }
        if (Editors.names().stream().noneMatch(n -> n.equalsIgnoreCase(method))) {
            throw new IceditException("unknown method '" + method + "' (known: " + String.join(", ", names()) + ")");
        }
        Editors.Method<?> m = Editors.method(method);
        Presets.Choice preset = Presets.resolve(m.name(), config, hparams);
        Object hp = preset.hyperParams();
        if (seed != null) {
            hp = m.reseed(hp, seed);
        }
        return new MethodPlan(m.name(), m.create(hp), HyperParams.asMap(hp), preset);
    }

    public String name() {
        return name;
    }

    /** The editor, or null for the baselines that change no weight. */
    public Editor editor() {
        return editor;
    }

    /** Which preset the hyper-parameters came from and why (null for the baselines). */
    public Presets.Choice preset() {
        return preset;
    }

    /** The hyper-parameters in use (null for the baselines). */
    public Map<String, Object> hyperParameters() {
        return hyperParameters;
    }

    /** The text put in front of every measured prompt: the fact for IN-CONTEXT, else nothing. */
    public String contextPrefix(EvalCase c) {
        return name.equals(IN_CONTEXT) ? inContextPrefix(c) : "";
    }

    /** IN-CONTEXT's text before a prompt: the case's context sentences, else the sentence stating the fact. */
    public static String inContextPrefix(EvalCase c) {
        return "Fact: " + String.join(" ", c.request().contextOrStatedFact()) + " Now: ";
    }

    /** IN-CONTEXT's prefix as run.json records it. */
    public static String inContextTemplate(boolean contexts) {
        return contexts ? "Fact: {context} Now: " : "Fact: {prompt} {target_new}. Now: ";
    }
}
