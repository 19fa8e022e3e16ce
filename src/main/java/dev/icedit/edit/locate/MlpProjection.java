package dev.icedit.edit.locate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.Weights;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.IceditException;

/**
 * The MLP output projection of a layer, the matrix ROME and MEMIT rewrite, in one orientation whatever the
 * checkpoint's: W (C, I) maps a key k (I) to the MLP output W k + b (C). Llama stores down_proj as (C, I), as
 * nn.Linear does; GPT-2's Conv1D stores c_proj as (I, C), so its matrix is the transpose of what is stored.
 */
public final class MlpProjection {
    private MlpProjection() {}

    /** The Hugging Face name of layer {@code layer}'s projection, checking the layer exists. */
    public static String weightName(LanguageModel model, int layer, String method) {
        ModelConfig c = model.config();
        if (layer < 0 || layer >= c.numLayers()) {
            throw new IceditException(method + " hyper-parameters name layer " + layer + " but the model has "
                    + c.numLayers() + " layers (0.." + (c.numLayers() - 1) + ")");
        }
        return c.mlpOutputWeight(layer);
    }

    /** W as (C, I), float64. */
    public static NDArray matrix(LanguageModel model, Weights w, int layer) {
        NDArray stored = w.get(model.config().mlpOutputWeight(layer)).toType(DataType.FLOAT64, true);
        return model.config().mlpOutputIsTransposed() ? stored.transpose() : stored; // (C, I)
    }

    /** The projection's bias (C), float64, or null when it has none. */
    public static NDArray bias(LanguageModel model, Weights w, int layer) {
        String name = model.config().mlpOutputWeight(layer).replaceAll("\\.weight$", ".bias");
        return w.contains(name) ? w.get(name).toType(DataType.FLOAT64, true) : null;
    }

    /** W k + b for a key k (I): the MLP output (C) at that key, float64. */
    public static NDArray output(LanguageModel model, Weights w, int layer, NDArray key) {
        NDArray out = matrix(model, w, layer).matMul(key.toType(DataType.FLOAT64, false).reshape(-1, 1)).reshape(-1);
        NDArray b = bias(model, w, layer);
        return b == null ? out : out.add(b); // (C)
    }

    /**
     * The stored weight plus an update given as (C, I) float64, in the stored layout and dtype: a new tensor outside
     * any scope, owned by the caller.
     */
    public static NDArray plus(LanguageModel model, Weights w, int layer, NDArray update) {
        NDArray stored = w.get(model.config().mlpOutputWeight(layer));
        NDArray result;
        try (NDScope scope = new NDScope()) {
            NDArray inLayout = model.config().mlpOutputIsTransposed() ? update.transpose() : update;
            if (!inLayout.getShape().equals(stored.getShape())) {
                throw new IllegalStateException("update of shape " + update.getShape() + " does not fit weight "
                        + stored.getShape());
            }
            result = stored.toType(DataType.FLOAT64, true).add(inLayout).toType(stored.getDataType(), false);
            NDScope.unregister(result);
        }
        return result;
    }

    /**
     * A change of the stored weight, in the stored layout, turned into dW P for a projector P (I, I) acting on the
     * key side (P symmetric): Llama stores dW as (C, I), so it is D P; GPT-2's Conv1D stores dW^T (I, C), so it is
     * P D. Computed in the change's dtype (P is converted); in the caller's scope.
     */
    public static NDArray projectChange(ModelConfig config, NDArray storedChange, NDArray projector) {
        NDArray p = projector.getDataType() == storedChange.getDataType() ? projector
                : projector.toType(storedChange.getDataType(), false);
        return config.mlpOutputIsTransposed() ? p.matMul(storedChange) : storedChange.matMul(p);
    }
}
