package dev.icedit.tensor;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/** The element types a safetensors file may hold, with their names as written in its header. */
public enum DType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, DataType.BFLOAT16),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT16),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int bytes;
    private final DataType djl;

    DType(int bytes, DataType djl) {
        this.bytes = bytes;
        this.djl = djl;
    }

    public int bytes() {
        return bytes;
    }

    /** The DJL type; BF16 has one but DJL's PyTorch engine cannot hold it (see {@link BFloat16}). */
    public DataType djl() {
        return djl;
    }

    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** Parses a header dtype name; returns null for names this reader does not know. */
    public static DType fromHeader(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    public static DType of(DataType type) {
        for (DType d : values()) {
            if (d.djl == type) {
                return d;
            }
        }
        throw new IllegalArgumentException("no safetensors dtype for " + type);
    }

    /** Parses a user-facing compute dtype: float32/fp32, float16/fp16, bfloat16/bf16. */
    public static DType parseCompute(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "float32": case "fp32": case "f32": return F32;
            case "float16": case "fp16": case "f16": case "half": return F16;
            case "bfloat16": case "bf16":
                throw new IceditException("bfloat16 compute is not available with DJL's PyTorch engine; use float32"
                        + " (or float16); bfloat16 weights on disk are read and written either way");
            default: throw new IceditException("unknown dtype '" + s + "' (use float32, float16 or bfloat16)");
        }
    }
}
