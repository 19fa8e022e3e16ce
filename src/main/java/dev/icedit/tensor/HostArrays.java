package dev.icedit.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Arrays made from host (Java) data, copied into memory that PyTorch owns. DJL's {@code create} on the CPU wraps
 * a Java direct buffer without copying and lets the buffer go when the NDArray is closed; autograd may still hold
 * the tensor (an index or a mask saved for the backward pass), and would then read freed memory. DJL's
 * arithmetic with a Java number ({@code x.mul(0.5)}) does exactly that with a scalar it closes at once, so code
 * that may run under autograd multiplies by {@link #scalar} instead. Every array built from Java data that a
 * forward pass uses goes through here.
 */
public final class HostArrays {
    private HostArrays() {}

    public static NDArray of(NDManager manager, float[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    public static NDArray of(NDManager manager, double[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    public static NDArray of(NDManager manager, long[] data, Shape shape) {
        return owned(manager.create(data, shape));
    }

    /** A 0-d array holding {@code value} in the given dtype, in PyTorch-owned memory. */
    public static NDArray scalar(NDManager manager, double value, DataType dtype) {
        NDArray f = owned(manager.create((float) value));
        if (dtype == DataType.FLOAT32) {
            return f;
        }
        NDArray c = f.toType(dtype, true);
        f.close();
        return c;
    }

    /** {@code x * value}, safe under autograd. */
    public static NDArray times(NDArray x, double value) {
        return x.mul(scalar(x.getManager(), value, x.getDataType()));
    }

    /** {@code x + value}, safe under autograd. */
    public static NDArray plus(NDArray x, double value) {
        return x.add(scalar(x.getManager(), value, x.getDataType()));
    }

    /** {@code x ^ value}, safe under autograd. */
    public static NDArray power(NDArray x, double value) {
        return x.pow(scalar(x.getManager(), value, x.getDataType()));
    }

    /**
     * The float32 values of a contiguous array on the CPU as a buffer over the array's own memory (no copy): writes
     * through it change the array. For loops that libtorch would run as many passes over memory. The array must
     * be contiguous (results of element-wise operations on contiguous arrays, a leaf's gradient, a loaded weight):
     * for a strided view libtorch hands out the memory of a temporary copy.
     */
    public static java.nio.FloatBuffer aliasFloats(NDArray x) {
        if (x.getDataType() != DataType.FLOAT32 || !x.getDevice().equals(ai.djl.Device.cpu())
                || !(x instanceof ai.djl.pytorch.engine.PtNDArray pt)) {
            throw new IllegalArgumentException("not a float32 CPU array: " + x.getDataType() + " on " + x.getDevice());
        }
        java.nio.ByteBuffer bytes = pt.toByteBuffer(true);
        if (!bytes.isDirect() || bytes.capacity() != x.size() * 4) {
            throw new IllegalArgumentException("array memory is not directly addressable (not contiguous?)");
        }
        return bytes.order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static NDArray owned(NDArray wrapped) {
        NDArray copy = wrapped.duplicate();
        wrapped.close();
        return copy;
    }
}
