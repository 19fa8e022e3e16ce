package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Arrays made from Java data (token ids, positions, masks, rotary tables, scalars), copied into memory the engine
 * owns. Use these, not {@code manager.create(...)} or an operator with a {@code Number} operand such as
 * {@code x.mul(0.5)}, for anything that enters a forward pass.
 *
 * <p>Why: DJL's PyTorch engine wraps a Java direct buffer without copying it, and only the Java array object keeps
 * that buffer alive; {@code x.mul(0.5)} even closes its scalar as soon as the product is made. Autograd, though,
 * saves operands for the backward pass (a product saves its factors), and once the garbage collector frees the
 * buffer, backward reads freed memory: gradients, and so edits, came out different or NaN depending on when the
 * collector ran (under concurrent server load, say). A copy made by the engine lives as long as any tensor uses it.
 */
final class HostArrays {
    private HostArrays() {}

    static NDArray of(NDManager manager, long[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    static NDArray of(NDManager manager, float[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    /** A 0-dimensional array of the number's own type, as {@code manager.create(Number)} makes it. */
    static NDArray scalar(NDManager manager, Number value) {
        return owned(manager.create(value));
    }

    private static NDArray owned(NDArray wrapped) {
        NDArray copy = wrapped.duplicate();
        wrapped.close();
        return copy;
    }
}
