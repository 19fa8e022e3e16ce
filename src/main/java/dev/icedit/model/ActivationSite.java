package dev.icedit.model;

import dev.icedit.tensor.IceditException;
import java.util.Locale;

/**
 * A named point in a layer where activations can be read or replaced. Widths: C for the residual stream and the
 * MLP output, I (the MLP's inner width) for {@link Kind#MLP_IN}.
 */
public record ActivationSite(int layer, Kind kind) {
    public enum Kind {
        /** The residual stream entering the layer (B, T, C). */
        RESIDUAL_IN,
        /** The input of the MLP's output projection: the inner activation ROME calls the key (B, T, I). */
        MLP_IN,
        /** The output of the MLP's output projection, before it is added to the residual stream (B, T, C). */
        MLP_OUT,
        /** The residual stream leaving the layer (B, T, C). */
        RESIDUAL_OUT
    }

    public static ActivationSite mlpIn(int layer) {
        return new ActivationSite(layer, Kind.MLP_IN);
    }

    public static ActivationSite mlpOut(int layer) {
        return new ActivationSite(layer, Kind.MLP_OUT);
    }

    public static ActivationSite residualOut(int layer) {
        return new ActivationSite(layer, Kind.RESIDUAL_OUT);
    }

    /** Parses "4.mlp_in", "layer4.mlp_out", "12.residual_out". */
    public static ActivationSite parse(String s) {
        String[] parts = s.trim().toLowerCase(Locale.ROOT).replace("layer", "").split("\\.", 2);
        try {
            return new ActivationSite(Integer.parseInt(parts[0]), Kind.valueOf(parts[1].toUpperCase(Locale.ROOT)));
        } catch (RuntimeException e) {
            throw new IceditException("bad activation site '" + s
                    + "' (expected LAYER.KIND with KIND one of residual_in, mlp_in, mlp_out, residual_out)");
        }
    }

    @Override
    public String toString() {
        return layer + "." + kind.name().toLowerCase(Locale.ROOT);
    }
}
