package dev.icedit.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor's values as a checkpoint stores them: little-endian bytes in a safetensors dtype. {@link #encode} is
 * the one place where a value is rounded to the dtype it is stored in (to nearest even, as PyTorch rounds); saving
 * a model, writing a patch and comparing a model with a patch all go through it, so they agree bit for bit.
 */
public final class StoredTensor {
    private StoredTensor() {}

    /** The bytes {@code value} has when stored as {@code dtype} (F32, F16 or BF16), position 0, little-endian. */
    public static ByteBuffer encode(NDArray value, DType dtype) {
        if (dtype == DType.BF16) {
            return BFloat16.fromFloat32(encode(value, DType.F32));
        }
        if (dtype != DType.F32 && dtype != DType.F16) {
            throw new IllegalArgumentException("weights are stored as F32, F16 or BF16, not " + dtype);
        }
        try (NDArray converted = value.toType(dtype.djl(), true)) {
            NDArray cpu = converted.getDevice().equals(Device.cpu()) ? converted : converted.toDevice(Device.cpu(), true);
            ByteBuffer b = cpu.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            if (cpu != converted) {
                cpu.close();
            }
            return b;
        }
    }

    /**
     * A new array of {@code compute} dtype on the manager's device holding stored bytes (copied: the array owns its
     * memory and does not alias {@code bytes}).
     */
    public static NDArray decode(NDManager manager, ByteBuffer bytes, DType dtype, Shape shape, DataType compute) {
        ByteBuffer host;
        DType hostType = dtype;
        if (dtype == DType.BF16) {
            host = BFloat16.toFloat32(bytes);
            hostType = DType.F32;
        } else if (dtype == DType.F32 || dtype == DType.F16) {
            host = ByteBuffer.allocateDirect(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            host.put(bytes.duplicate()).flip();
        } else {
            throw new IllegalArgumentException("weights are stored as F32, F16 or BF16, not " + dtype);
        }
        NDArray wrapped = manager.create(host, shape, hostType.djl()); // wraps host without copying on the CPU
        try {
            NDArray typed = wrapped.getDataType() == compute ? wrapped.duplicate() : wrapped.toType(compute, true);
            if (typed.getDevice().equals(manager.getDevice())) {
                return typed;
            }
            NDArray moved = typed.toDevice(manager.getDevice(), true);
            typed.close();
            return moved;
        } finally {
            wrapped.close();
        }
    }

    /** Whether stored bytes of {@code dtype} hold only finite values (no NaN, no infinity). */
    public static boolean allFinite(ByteBuffer bytes, DType dtype) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32:
                while (b.remaining() >= 4) {
                    if ((b.getInt() & 0x7f800000) == 0x7f800000) {
                        return false;
                    }
                }
                return true;
            case F16:
                while (b.remaining() >= 2) {
                    if ((b.getShort() & 0x7c00) == 0x7c00) {
                        return false;
                    }
                }
                return true;
            case BF16:
                while (b.remaining() >= 2) {
                    if ((b.getShort() & 0x7f80) == 0x7f80) {
                        return false;
                    }
                }
                return true;
            default:
                throw new IllegalArgumentException("weights are stored as F32, F16 or BF16, not " + dtype);
        }
    }
}
